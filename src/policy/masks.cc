#include "policy/masks.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include "base/encoding.h"

namespace piivault::policy {

using vault::FieldType;
namespace {

// Everything hidden: the mask of opaque types and the fail-closed answer for
// any value that does not have its type's canonical shape.
constexpr std::string_view kFullMask = "***";

// How many trailing characters the phone, card and IBAN masks keep.
constexpr std::size_t kVisibleTail = 4;

// ASCII helpers (locale-independent on purpose).
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLowerHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), IsDigit);
}

// The byte length of the valid UTF-8 sequence at the start of `s`, or 0.
std::size_t Utf8SequenceLength(std::string_view s) {
  char32_t ignored;
  return DecodeUtf8Char(s, &ignored);
}

bool IsValidUtf8(std::string_view s) {
  while (!s.empty()) {
    const std::size_t len = Utf8SequenceLength(s);
    if (len == 0) return false;
    s.remove_prefix(len);
  }
  return true;
}

// True when `s` contains an ASCII control character or space: a canonical
// e-mail address contains neither, so such a value is not one.
bool HasAsciiControlOrSpace(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7F;
  });
}

// `keep` followed by one '*' per hidden character and then the visible tail.
std::string StarsThenTail(std::string_view keep, std::string_view hidden,
                          std::string_view tail) {
  std::string out(keep);
  out.append(hidden.size(), '*');
  out.append(tail);
  return out;
}

std::string MaskEmail(std::string_view s) {
  const std::size_t at = s.find('@');
  if (at == s.npos || s.find('@', at + 1) != s.npos) {
    return std::string(kFullMask);
  }
  const std::string_view local = s.substr(0, at);
  const std::string_view domain = s.substr(at + 1);
  // The domain is shown whole, so it must really be a canonical (lowercased
  // ASCII, dot-separated) domain and not some other text after an '@'.
  const bool domain_ok =
      !domain.empty() && domain.find('.') != domain.npos &&
      domain.front() != '.' && domain.back() != '.' &&
      domain.find("..") == domain.npos &&
      std::all_of(domain.begin(), domain.end(), [](char c) {
        return IsDigit(c) || (c >= 'a' && c <= 'z') || c == '-' || c == '.';
      });
  if (local.empty() || !domain_ok || !IsValidUtf8(local) ||
      HasAsciiControlOrSpace(local)) {
    return std::string(kFullMask);
  }
  // The local part may be UTF-8 (RFC 6531): keep a whole code point.
  const std::size_t first = Utf8SequenceLength(local);
  std::string out(local.substr(0, first));
  out += kFullMask;
  out += '@';
  out += domain;
  return out;
}

std::string MaskPhone(std::string_view s) {
  if (s.empty() || s.front() != '+') return std::string(kFullMask);
  const std::string_view digits = s.substr(1);
  // With 4 digits or fewer the tail would be the whole number.
  if (digits.size() <= kVisibleTail || !AllDigits(digits)) {
    return std::string(kFullMask);
  }
  const std::size_t split = digits.size() - kVisibleTail;
  return StarsThenTail("+", digits.substr(0, split), digits.substr(split));
}

std::string MaskSsn(std::string_view s) {
  // Exactly "AAA-GG-SSSS".
  if (s.size() != 11 || s[3] != '-' || s[6] != '-' ||
      !AllDigits(s.substr(0, 3)) || !AllDigits(s.substr(4, 2)) ||
      !AllDigits(s.substr(7, 4))) {
    return std::string(kFullMask);
  }
  return "***-**-" + std::string(s.substr(7, 4));
}

std::string MaskCreditCard(std::string_view s) {
  if (s.size() <= kVisibleTail || !AllDigits(s)) {
    return std::string(kFullMask);
  }
  const std::size_t split = s.size() - kVisibleTail;
  return StarsThenTail("", s.substr(0, split), s.substr(split));
}

std::string MaskIban(std::string_view s) {
  // Country code + at least one hidden character + the last 4; anything
  // shorter would show (nearly) the whole value.
  constexpr std::size_t kCountryCode = 2;
  if (s.size() <= kCountryCode + kVisibleTail || !IsUpper(s[0]) ||
      !IsUpper(s[1]) || !std::all_of(s.begin(), s.end(), [](char c) {
        return IsUpper(c) || IsDigit(c);
      })) {
    return std::string(kFullMask);
  }
  const std::size_t split = s.size() - kVisibleTail;
  return StarsThenTail(s.substr(0, kCountryCode),
                       s.substr(kCountryCode, split - kCountryCode),
                       s.substr(split));
}

std::string MaskName(std::string_view s) {
  // Canonical names are trimmed, valid UTF-8 and free of control characters;
  // anything else is not a stored name.
  if (s.empty() || s.front() == ' ' || s.back() == ' ' || !IsValidUtf8(s) ||
      std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F;
      })) {
    return std::string(kFullMask);
  }
  // Whole code point: cutting a multi-byte character would emit invalid
  // UTF-8 (and for e.g. "É" show nothing recognizable).
  std::string out(s.substr(0, Utf8SequenceLength(s)));
  out += kFullMask;
  return out;
}

std::string MaskDate(std::string_view s) {
  // Exactly "YYYY-MM-DD".
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' ||
      !AllDigits(s.substr(0, 4)) || !AllDigits(s.substr(5, 2)) ||
      !AllDigits(s.substr(8, 2))) {
    return std::string(kFullMask);
  }
  return std::string(s.substr(0, 4));
}

// True for a canonical IPv4 dotted quad: four decimal octets 0..255 without
// leading zeros.
bool IsCanonicalIpv4(std::string_view s) {
  for (int i = 0; i < 4; ++i) {
    std::string_view octet = s;
    if (i < 3) {
      const std::size_t dot = s.find('.');
      if (dot == s.npos) return false;
      octet = s.substr(0, dot);
      s.remove_prefix(dot + 1);
    }
    if (octet.empty() || octet.size() > 3 || !AllDigits(octet)) return false;
    if (octet.size() > 1 && octet.front() == '0') return false;
    int value = 0;
    for (char c : octet) value = value * 10 + (c - '0');
    if (value > 255) return false;
  }
  return true;
}

// True for IPv6 text in the canonical character set: what inet_pton(3)
// accepts, lowercase hex only, and a dotted-quad tail (IPv4-mapped) without
// leading zeros. Full RFC 5952 canonicity (e.g. where "::" goes) is not
// needed: only the first group is shown, and the caller checks it.
bool LooksLikeCanonicalIpv6(std::string_view s) {
  if (s.size() >= INET6_ADDRSTRLEN ||
      !std::all_of(s.begin(), s.end(), [](char c) {
        return IsLowerHex(c) || c == ':' || c == '.';
      })) {
    return false;
  }
  if (s.find('.') != s.npos && !IsCanonicalIpv4(s.substr(s.rfind(':') + 1))) {
    return false;
  }
  const std::string text(s);  // inet_pton needs a NUL-terminated string
  in6_addr addr{};
  return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

std::string MaskIpAddress(std::string_view s) {
  if (s.find(':') == s.npos) {
    if (!IsCanonicalIpv4(s)) return std::string(kFullMask);
    return std::string(s.substr(0, s.find('.'))) + ".*.*.*";
  }
  if (!LooksLikeCanonicalIpv6(s)) return std::string(kFullMask);
  // RFC 5952 compresses a leading run of zero groups to "::", so the first
  // group is then 0.
  if (s.starts_with("::")) return "0:*";
  const std::string_view first = s.substr(0, s.find(':'));
  // RFC 5952: no leading zeros within a group.
  if (first.size() > 1 && first.front() == '0') return std::string(kFullMask);
  return std::string(first) + ":*";
}

}  // namespace

std::string MaskFieldValue(vault::FieldType type, std::string_view canonical) {
  switch (type) {
    case FieldType::kEmail:
      return MaskEmail(canonical);
    case FieldType::kPhone:
      return MaskPhone(canonical);
    case FieldType::kSsn:
      return MaskSsn(canonical);
    case FieldType::kCreditCard:
      return MaskCreditCard(canonical);
    case FieldType::kIban:
      return MaskIban(canonical);
    case FieldType::kName:
      return MaskName(canonical);
    case FieldType::kDate:
      return MaskDate(canonical);
    case FieldType::kIpAddress:
      return MaskIpAddress(canonical);
    case FieldType::kString:
    case FieldType::kInteger:
    case FieldType::kBoolean:
      break;
  }
  // Opaque types, and any value of `type` outside the enumerators: nothing
  // of free text or a number is safe to show.
  return std::string(kFullMask);
}

}  // namespace piivault::policy

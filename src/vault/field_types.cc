#include "vault/field_types.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "base/encoding.h"

namespace piivault::vault {
namespace {

// ---------------------------------------------------------------------------
// Errors

// The caller fills in the field name; messages never contain the value.
std::unexpected<Status> Invalid(std::string message) {
  return Err(ValidationFailed("", std::move(message)));
}

// ---------------------------------------------------------------------------
// ASCII helpers (locale-independent on purpose)

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlpha(char c) { return IsUpper(c) || IsLower(c); }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
char ToLower(char c) { return IsUpper(c) ? static_cast<char>(c + 32) : c; }
char ToUpper(char c) { return IsLower(c) ? static_cast<char>(c - 32) : c; }

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLower(c);
  return out;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
}

// ---------------------------------------------------------------------------
// UTF-8

// Strict decoding (RFC 3629, see DecodeUtf8Char).
std::optional<std::u32string> DecodeUtf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  while (!s.empty()) {
    char32_t cp;
    std::size_t len = DecodeUtf8Char(s, &cp);
    if (len == 0) return std::nullopt;
    out.push_back(cp);
    s.remove_prefix(len);
  }
  return out;
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string EncodeUtf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t cp : cps) AppendUtf8(out, cp);
  return out;
}

bool IsControl(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

bool IsSpace(char32_t cp) {
  switch (cp) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
    case '\v':
    case '\f':
    case 0x00A0:
    case 0x1680:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

// A rough "is a letter" for names: ASCII letters, and code points from
// U+00C0 on except the Latin-1 math signs, general punctuation / symbols /
// arrows / box drawing (U+2000..U+2BFF), CJK punctuation, private use,
// variation selectors, specials and the supplementary symbol planes (emoji).
bool IsLetterLike(char32_t cp) {
  if (cp < 0x80) return IsAlpha(static_cast<char>(cp));
  if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7) return false;
  if (cp >= 0x0300 && cp <= 0x036F) return false;  // combining marks
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;
  if (cp >= 0x3000 && cp <= 0x303F) return false;
  if (cp >= 0xE000 && cp <= 0xF8FF) return false;
  if (cp >= 0xFE00 && cp <= 0xFE0F) return false;
  if (cp >= 0xFFF0 && cp <= 0xFFFF) return false;
  if (cp >= 0x1F000) return false;
  return true;
}

// Simple case folding for the scripts most names in the vault use; appends
// the folded form of `cp` to `out`.
void AppendFolded(std::u32string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
  } else if (cp == 0x00B5) {  // micro sign -> greek mu
    out.push_back(0x03BC);
  } else if (cp >= 0x00C0 && cp <= 0x00DE && cp != 0x00D7) {
    out.push_back(cp + 32);
  } else if (cp == 0x00DF || cp == 0x1E9E) {  // sharp s (full folding)
    out.append(U"ss");
  } else if ((cp >= 0x0100 && cp <= 0x012F) || (cp >= 0x0132 && cp <= 0x0137) ||
             (cp >= 0x014A && cp <= 0x0177)) {
    out.push_back(cp % 2 == 0 ? cp + 1 : cp);
  } else if ((cp >= 0x0139 && cp <= 0x0148) || (cp >= 0x0179 && cp <= 0x017E)) {
    out.push_back(cp % 2 == 1 ? cp + 1 : cp);
  } else if (cp == 0x0130) {  // capital I with dot above
    out.push_back('i');
  } else if (cp == 0x0178) {  // capital Y with diaeresis
    out.push_back(0x00FF);
  } else if (cp == 0x017F) {  // long s
    out.push_back('s');
  } else if (cp == 0x0386) {
    out.push_back(0x03AC);
  } else if (cp >= 0x0388 && cp <= 0x038A) {
    out.push_back(cp + 37);
  } else if (cp == 0x038C) {
    out.push_back(0x03CC);
  } else if (cp == 0x038E || cp == 0x038F) {
    out.push_back(cp + 63);
  } else if ((cp >= 0x0391 && cp <= 0x03A1) || (cp >= 0x03A3 && cp <= 0x03AB)) {
    out.push_back(cp + 32);
  } else if (cp == 0x03C2) {  // final sigma
    out.push_back(0x03C3);
  } else if (cp >= 0x0400 && cp <= 0x040F) {
    out.push_back(cp + 80);
  } else if (cp >= 0x0410 && cp <= 0x042F) {
    out.push_back(cp + 32);
  } else {
    out.push_back(cp);
  }
}

std::u32string_view Trim(std::u32string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Trims and collapses every whitespace run to one ASCII space.
std::u32string CollapseSpaces(std::u32string_view s) {
  s = Trim(s);
  std::u32string out;
  out.reserve(s.size());
  bool in_space = false;
  for (char32_t cp : s) {
    if (IsSpace(cp)) {
      in_space = true;
      continue;
    }
    if (in_space) out.push_back(' ');
    in_space = false;
    out.push_back(cp);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Per-type rules. Each takes the trimmed, UTF-8-valid, control-free text.

Result<std::string> NormalizeName(std::u32string_view cps) {
  std::u32string collapsed = CollapseSpaces(cps);
  if (std::none_of(collapsed.begin(), collapsed.end(), IsLetterLike)) {
    return Invalid("a name must contain at least one letter");
  }
  std::string out = EncodeUtf8(collapsed);
  if (out.size() > kMaxTextBytes) {
    return Invalid("is longer than 4096 bytes");
  }
  return out;
}

bool IsAtext(char c) {
  if (IsAlnum(c)) return true;
  if (static_cast<unsigned char>(c) >= 0x80) return true;  // RFC 6531 UTF-8
  return std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr && c != '\0';
}

Result<std::string> NormalizeEmail(std::string_view s) {
  const std::size_t at = s.find('@');
  if (at == std::string_view::npos || s.find('@', at + 1) != s.npos) {
    return Invalid("not a valid e-mail address: must contain exactly one @");
  }
  if (s.size() > 254) {
    return Invalid("not a valid e-mail address: longer than 254 bytes");
  }
  const std::string_view local = s.substr(0, at);
  const std::string_view domain = s.substr(at + 1);
  if (local.empty() || local.size() > 64) {
    return Invalid(
        "not a valid e-mail address: local part must be 1 to 64 bytes");
  }
  if (local.front() == '.' || local.back() == '.' ||
      local.find("..") != local.npos) {
    return Invalid("not a valid e-mail address: misplaced dot in local part");
  }
  for (char c : local) {
    if (c != '.' && !IsAtext(c)) {
      return Invalid(
          "not a valid e-mail address: local part contains a character that "
          "is not allowed");
    }
  }
  if (domain.empty() || domain.size() > 253) {
    return Invalid("not a valid e-mail address: domain must be 1 to 253 bytes");
  }
  std::size_t labels = 0;
  std::string_view last_label;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = domain.find('.', start);
    const std::string_view label =
        domain.substr(start, dot == domain.npos ? domain.npos : dot - start);
    if (label.empty() || label.size() > 63) {
      return Invalid(
          "not a valid e-mail address: domain labels must be 1 to 63 "
          "characters");
    }
    if (label.front() == '-' || label.back() == '-') {
      return Invalid(
          "not a valid e-mail address: domain label starts or ends with a "
          "hyphen");
    }
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') {
        return Invalid(
            "not a valid e-mail address: domain may contain only letters, "
            "digits, hyphens and dots");
      }
    }
    ++labels;
    last_label = label;
    if (dot == domain.npos) break;
    start = dot + 1;
  }
  if (labels < 2) {
    return Invalid("not a valid e-mail address: domain must contain a dot");
  }
  if (AllDigits(last_label)) {
    return Invalid(
        "not a valid e-mail address: top-level domain must not be numeric");
  }
  std::string out(local);
  out.push_back('@');
  out += AsciiLower(domain);
  return out;
}

// ITU-T E.164 assigned country calling codes (incl. the non-geographic
// global services 800, 808, 870, 878, 881-883, 888, 979). The set is
// prefix-free, so the first match by length is the code.
bool IsCountryCallingCode(std::string_view cc) {
  static constexpr std::string_view kOne[] = {"1", "7"};
  static constexpr std::string_view kTwo[] = {
      "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41",
      "43", "44", "45", "46", "47", "48", "49", "51", "52", "53", "54",
      "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66",
      "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"};
  static constexpr std::string_view kThree[] = {
      "211", "212", "213", "216", "218", "220", "221", "222", "223", "224",
      "225", "226", "227", "228", "229", "230", "231", "232", "233", "234",
      "235", "236", "237", "238", "239", "240", "241", "242", "243", "244",
      "245", "246", "247", "248", "249", "250", "251", "252", "253", "254",
      "255", "256", "257", "258", "260", "261", "262", "263", "264", "265",
      "266", "267", "268", "269", "290", "291", "297", "298", "299", "350",
      "351", "352", "353", "354", "355", "356", "357", "358", "359", "370",
      "371", "372", "373", "374", "375", "376", "377", "378", "379", "380",
      "381", "382", "383", "385", "386", "387", "389", "420", "421", "423",
      "500", "501", "502", "503", "504", "505", "506", "507", "508", "509",
      "590", "591", "592", "593", "594", "595", "596", "597", "598", "599",
      "670", "672", "673", "674", "675", "676", "677", "678", "679", "680",
      "681", "682", "683", "685", "686", "687", "688", "689", "690", "691",
      "692", "800", "808", "850", "852", "853", "855", "856", "870", "878",
      "880", "881", "882", "883", "886", "888", "960", "961", "962", "963",
      "964", "965", "966", "967", "968", "970", "971", "972", "973", "974",
      "975", "976", "977", "979", "992", "993", "994", "995", "996", "998"};
  auto in = [&](const auto& table) {
    return std::find(std::begin(table), std::end(table), cc) != std::end(table);
  };
  switch (cc.size()) {
    case 1:
      return in(kOne);
    case 2:
      return in(kTwo);
    case 3:
      return in(kThree);
    default:
      return false;
  }
}

Result<std::string> NormalizePhone(std::string_view s) {
  std::size_t pos;
  if (s.starts_with('+')) {
    pos = 1;
  } else if (s.starts_with("00")) {
    pos = 2;
  } else {
    return Invalid(
        "not a valid phone number: must be in international form, starting "
        "with + or 00");
  }
  std::string digits;
  // Digit ranges [begin, end) enclosed in parentheses.
  std::vector<std::pair<std::size_t, std::size_t>> groups;
  bool in_group = false;
  std::size_t group_begin = 0;
  for (; pos < s.size(); ++pos) {
    const char c = s[pos];
    if (IsDigit(c)) {
      digits.push_back(c);
    } else if (c == ' ' || c == '-' || c == '.') {
      // separator
    } else if (c == '(') {
      if (in_group) {
        return Invalid("not a valid phone number: nested parentheses");
      }
      in_group = true;
      group_begin = digits.size();
    } else if (c == ')') {
      if (!in_group || digits.size() == group_begin) {
        return Invalid("not a valid phone number: unbalanced parentheses");
      }
      in_group = false;
      groups.emplace_back(group_begin, digits.size());
    } else {
      return Invalid(
          "not a valid phone number: only digits, spaces, dashes, dots and "
          "parentheses are allowed");
    }
  }
  if (in_group) {
    return Invalid("not a valid phone number: unbalanced parentheses");
  }
  if (digits.empty() || digits.front() == '0') {
    return Invalid("not a valid phone number: missing country calling code");
  }
  std::size_t cc_len = 0;
  for (std::size_t n = 1; n <= 3 && n <= digits.size(); ++n) {
    if (IsCountryCallingCode(std::string_view(digits).substr(0, n))) {
      cc_len = n;
      break;
    }
  }
  if (cc_len == 0) {
    return Invalid("not a valid phone number: unknown country calling code");
  }
  // "+44 (0)20 ..." - the national trunk prefix is not dialled from abroad.
  for (const auto& [begin, end] : groups) {
    if (begin == cc_len && end == cc_len + 1 && digits[cc_len] == '0') {
      digits.erase(cc_len, 1);
      break;
    }
  }
  if (digits.size() < 8 || digits.size() > 15) {
    return Invalid(
        "not a valid phone number: must have 8 to 15 digits including the "
        "country code");
  }
  const std::string_view national = std::string_view(digits).substr(cc_len);
  if (cc_len == 1 && digits[0] == '1') {
    if (national.size() != 10 || national[0] < '2' || national[3] < '2') {
      return Invalid(
          "not a valid phone number: not a valid North American number");
    }
  } else if (cc_len == 1 && digits[0] == '7') {
    if (national.size() != 10) {
      return Invalid(
          "not a valid phone number: +7 numbers have 10 national digits");
    }
  }
  return "+" + digits;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int ParseDigits(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

Result<std::string> NormalizeDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' ||
      !AllDigits(s.substr(0, 4)) || !AllDigits(s.substr(5, 2)) ||
      !AllDigits(s.substr(8, 2))) {
    return Invalid("not a valid date: expected YYYY-MM-DD");
  }
  const int year = ParseDigits(s.substr(0, 4));
  const int month = ParseDigits(s.substr(5, 2));
  const int day = ParseDigits(s.substr(8, 2));
  if (year < 1) return Invalid("not a valid date: year must be 0001 to 9999");
  if (month < 1 || month > 12) {
    return Invalid("not a valid date: month out of range");
  }
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                31, 31, 30, 31, 30, 31};
  const int max_day = month == 2 && IsLeapYear(year)
                          ? 29
                          : kDays[static_cast<std::size_t>(month - 1)];
  if (day < 1 || day > max_day) {
    return Invalid("not a valid date: day out of range for the month");
  }
  return std::string(s);
}

Result<std::string> NormalizeSsn(std::string_view s) {
  std::string digits;
  if (s.size() == 11 && s[3] == '-' && s[6] == '-' &&
      AllDigits(s.substr(0, 3)) && AllDigits(s.substr(4, 2)) &&
      AllDigits(s.substr(7, 4))) {
    digits = std::string(s.substr(0, 3)) + std::string(s.substr(4, 2)) +
             std::string(s.substr(7, 4));
  } else if (s.size() == 9 && AllDigits(s)) {
    digits = std::string(s);
  } else {
    return Invalid("not a valid SSN: expected AAA-GG-SSSS or 9 digits");
  }
  const int area = ParseDigits(std::string_view(digits).substr(0, 3));
  const int group = ParseDigits(std::string_view(digits).substr(3, 2));
  const int serial = ParseDigits(std::string_view(digits).substr(5, 4));
  if (area == 0 || area == 666 || area >= 900) {
    return Invalid("not a valid SSN: area number is never assigned");
  }
  if (group == 0) return Invalid("not a valid SSN: group number 00");
  if (serial == 0) return Invalid("not a valid SSN: serial number 0000");
  return digits.substr(0, 3) + "-" + digits.substr(3, 2) + "-" +
         digits.substr(5, 4);
}

bool LuhnValid(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

Result<std::string> NormalizeCreditCard(std::string_view s) {
  std::string digits;
  bool prev_separator = true;  // no separator at the start
  for (char c : s) {
    if (IsDigit(c)) {
      digits.push_back(c);
      prev_separator = false;
    } else if (c == ' ' || c == '-') {
      if (prev_separator) {
        return Invalid("not a valid card number: misplaced separator");
      }
      prev_separator = true;
    } else {
      return Invalid(
          "not a valid card number: only digits, spaces and dashes are "
          "allowed");
    }
  }
  if (prev_separator) {
    return Invalid("not a valid card number: misplaced separator");
  }
  if (digits.size() < 12 || digits.size() > 19) {
    return Invalid("not a valid card number: must have 12 to 19 digits");
  }
  if (digits.front() == '0') {
    return Invalid("not a valid card number: cannot start with 0");
  }
  if (!LuhnValid(digits)) {
    return Invalid("not a valid card number: fails the Luhn check");
  }
  return digits;
}

// SWIFT IBAN registry: country code and total IBAN length.
struct IbanCountry {
  std::string_view code;
  int length;
};
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20},
    {"BE", 16}, {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28},
    {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27},
    {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23},
    {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HN", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30},
    {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20},
    {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22},
    {"MK", 19}, {"MN", 20}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28},
    {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28}, {"PS", 29},
    {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24},
    {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
    {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26},
    {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

Result<std::string> NormalizeIban(std::string_view s) {
  std::string iban;
  for (char c : s) {
    if (c == ' ') continue;
    if (!IsAlnum(c)) {
      return Invalid(
          "not a valid IBAN: only letters, digits and spaces are allowed");
    }
    iban.push_back(ToUpper(c));
  }
  if (iban.size() < 4 || !IsUpper(iban[0]) || !IsUpper(iban[1]) ||
      !IsDigit(iban[2]) || !IsDigit(iban[3])) {
    return Invalid(
        "not a valid IBAN: must start with a country code and two check "
        "digits");
  }
  const auto country =
      std::find_if(std::begin(kIbanCountries), std::end(kIbanCountries),
                   [&](const IbanCountry& c) {
                     return c.code == std::string_view(iban).substr(0, 2);
                   });
  if (country == std::end(kIbanCountries)) {
    return Invalid("not a valid IBAN: country does not use IBANs");
  }
  if (iban.size() != static_cast<std::size_t>(country->length)) {
    return Invalid("not a valid IBAN: wrong length for its country");
  }
  const std::string_view check = std::string_view(iban).substr(2, 2);
  if (check == "00" || check == "01" || check == "99") {
    return Invalid("not a valid IBAN: invalid check digits");
  }
  // ISO 7064 MOD 97-10 over BBAN + country + check digits, letters as 10..35.
  int mod = 0;
  const std::string rearranged = iban.substr(4) + iban.substr(0, 4);
  for (char c : rearranged) {
    if (IsDigit(c)) {
      mod = (mod * 10 + (c - '0')) % 97;
    } else {
      mod = (mod * 100 + (c - 'A' + 10)) % 97;
    }
  }
  if (mod != 1) return Invalid("not a valid IBAN: fails the mod-97 check");
  return iban;
}

std::string FormatIpv6(const unsigned char bytes[16]) {
  std::array<unsigned, 8> words{};
  for (std::size_t i = 0; i < 8; ++i) {
    words[i] = (static_cast<unsigned>(bytes[2 * i]) << 8) | bytes[2 * i + 1];
  }
  char buf[INET_ADDRSTRLEN];
  // IPv4-mapped (::ffff:0:0/96): RFC 5952 section 5 mixed notation.
  if (std::all_of(words.begin(), words.begin() + 5,
                  [](unsigned w) { return w == 0; }) &&
      words[5] == 0xFFFF) {
    inet_ntop(AF_INET, bytes + 12, buf, sizeof(buf));
    return std::string("::ffff:") + buf;
  }
  // The longest run of two or more zero groups (the first on a tie) is "::".
  int best_start = -1;
  int best_len = 0;
  for (int i = 0; i < 8;) {
    if (words[static_cast<std::size_t>(i)] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && words[static_cast<std::size_t>(j)] == 0) ++j;
    if (j - i > best_len) best_start = i, best_len = j - i;
    i = j;
  }
  if (best_len < 2) best_start = -1;
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out.push_back(':');
    char hex[8];
    auto [end, ec] = std::to_chars(hex, hex + sizeof(hex),
                                   words[static_cast<std::size_t>(i)], 16);
    out.append(hex, end);
  }
  return out;
}

// True when a dotted-quad tail has an octet with a leading zero ("01").
bool HasLeadingZeroOctet(std::string_view s) {
  const std::size_t colon = s.rfind(':');
  if (colon != s.npos) s.remove_prefix(colon + 1);
  if (s.find('.') == s.npos) return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t dot = s.find('.', start);
    if (dot == s.npos) dot = s.size();
    if (dot - start > 1 && s[start] == '0') return true;
    start = dot + 1;
  }
  return false;
}

Result<std::string> NormalizeIpAddress(std::string_view s) {
  if (s.size() > INET6_ADDRSTRLEN) {
    return Invalid("not a valid IP address");
  }
  if (HasLeadingZeroOctet(s)) {
    return Invalid(
        "not a valid IP address: IPv4 octets must not have leading zeros");
  }
  const std::string text(s);
  if (text.find(':') == text.npos) {
    in_addr addr{};
    if (inet_pton(AF_INET, text.c_str(), &addr) != 1) {
      return Invalid("not a valid IP address");
    }
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr, buf, sizeof(buf));
    return std::string(buf);
  }
  in6_addr addr{};
  if (inet_pton(AF_INET6, text.c_str(), &addr) != 1) {
    return Invalid("not a valid IP address");
  }
  return FormatIpv6(addr.s6_addr);
}

Result<std::string> NormalizeText(FieldType type, const std::string& raw) {
  if (raw.size() > kMaxTextBytes && type != FieldType::kName) {
    return Invalid("is longer than 4096 bytes");
  }
  std::optional<std::u32string> cps = DecodeUtf8(raw);
  if (!cps) return Invalid("is not valid UTF-8");
  if (type == FieldType::kString) {
    for (char32_t cp : *cps) {
      if (cp == 0) return Invalid("contains a NUL character");
      if (IsControl(cp) && cp != '\t' && cp != '\n' && cp != '\r') {
        return Invalid("contains a control character");
      }
    }
    return raw;
  }
  std::u32string_view trimmed = Trim(*cps);
  if (trimmed.empty()) return Invalid("must not be empty");
  if (type == FieldType::kName) {
    // Internal whitespace (TAB, LF, ...) collapses to a space, so only the
    // other controls are errors.
    for (char32_t cp : trimmed) {
      if (IsControl(cp) && !IsSpace(cp)) {
        return Invalid("contains a control character");
      }
    }
    return NormalizeName(trimmed);
  }
  for (char32_t cp : trimmed) {
    if (IsControl(cp)) return Invalid("contains a control character");
  }
  const std::string text = EncodeUtf8(trimmed);
  switch (type) {
    case FieldType::kEmail:
      return NormalizeEmail(text);
    case FieldType::kPhone:
      return NormalizePhone(text);
    case FieldType::kDate:
      return NormalizeDate(text);
    case FieldType::kSsn:
      return NormalizeSsn(text);
    case FieldType::kCreditCard:
      return NormalizeCreditCard(text);
    case FieldType::kIban:
      return NormalizeIban(text);
    case FieldType::kIpAddress:
      return NormalizeIpAddress(text);
    default:
      break;
  }
  return Err(Internal("unhandled field type"));
}

struct TypeName {
  FieldType type;
  std::string_view name;
};
constexpr TypeName kTypeNames[] = {
    {FieldType::kString, "string"},
    {FieldType::kName, "name"},
    {FieldType::kEmail, "email"},
    {FieldType::kPhone, "phone"},
    {FieldType::kDate, "date"},
    {FieldType::kSsn, "ssn"},
    {FieldType::kCreditCard, "credit_card"},
    {FieldType::kIban, "iban"},
    {FieldType::kIpAddress, "ip_address"},
    {FieldType::kInteger, "integer"},
    {FieldType::kBoolean, "boolean"},
};

}  // namespace

std::optional<FieldType> ParseFieldType(std::string_view name) {
  for (const TypeName& t : kTypeNames) {
    if (t.name == name) return t.type;
  }
  return std::nullopt;
}

std::string_view FieldTypeName(FieldType type) {
  for (const TypeName& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

Result<std::string> NormalizeFieldValue(FieldType type,
                                        const FieldValue& value) {
  switch (type) {
    case FieldType::kInteger:
      if (const auto* v = std::get_if<std::int64_t>(&value)) {
        return std::to_string(*v);
      }
      return Invalid("expected an integer");
    case FieldType::kBoolean:
      if (const auto* v = std::get_if<bool>(&value)) {
        return std::string(*v ? "true" : "false");
      }
      return Invalid("expected a boolean");
    default:
      break;
  }
  const auto* text = std::get_if<std::string>(&value);
  if (text == nullptr) return Invalid("expected a string");
  return NormalizeText(type, *text);
}

FieldValue CanonicalToFieldValue(FieldType type, std::string_view canonical) {
  if (type == FieldType::kInteger) {
    std::int64_t v = 0;
    const char* end = canonical.data() + canonical.size();
    auto [ptr, ec] = std::from_chars(canonical.data(), end, v);
    if (ec == std::errc() && ptr == end) return v;
    return std::string(canonical);  // REQUIRES violated: keep the text
  }
  if (type == FieldType::kBoolean) return canonical == "true";
  return std::string(canonical);
}

std::string SearchKey(FieldType type, std::string_view canonical) {
  switch (type) {
    case FieldType::kName: {
      std::optional<std::u32string> cps = DecodeUtf8(canonical);
      if (!cps) return AsciiLower(canonical);  // REQUIRES violated
      std::u32string folded;
      folded.reserve(cps->size());
      for (char32_t cp : CollapseSpaces(*cps)) AppendFolded(folded, cp);
      return EncodeUtf8(folded);
    }
    case FieldType::kEmail:
      return AsciiLower(canonical);
    default:
      return std::string(canonical);
  }
}

}  // namespace piivault::vault

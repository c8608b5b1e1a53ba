#include "crypto/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace piivault::crypto {
namespace {

// Fills `out` with `n` bytes from the CSPRNG, or aborts.
void FillRandom(unsigned char* out, std::size_t n) {
  while (n > 0) {
    int chunk =
        n > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(n);
    if (RAND_bytes(out, chunk) != 1) {
      std::fputs("piivault: fatal: RAND_bytes failed; refusing to continue\n",
                 stderr);
      std::abort();
    }
    out += chunk;
    n -= static_cast<std::size_t>(chunk);
  }
}

constexpr char kBase32Alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

}  // namespace

std::string RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  FillRandom(reinterpret_cast<unsigned char*>(out.data()), n);
  return out;
}

SecretBytes RandomSecret(std::size_t n) {
  SecretBytes out(n);
  FillRandom(out.data(), n);
  return out;
}

std::string RandomId(std::string_view prefix) {
  constexpr std::size_t kIdBytes = 16;
  constexpr std::size_t kIdChars = 26;  // ceil(128 / 5)
  unsigned char raw[kIdBytes];
  FillRandom(raw, kIdBytes);

  std::string out;
  out.reserve(prefix.size() + kIdChars);
  out.append(prefix);
  // RFC 4648 base32 without padding: 5 bits per character, most significant
  // first; the final character carries the last 3 bits followed by 2 zeros.
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : raw) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kBase32Alphabet[(acc >> bits) & 31]);
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(acc << (5 - bits)) & 31]);
  OPENSSL_cleanse(raw, sizeof(raw));
  return out;
}

bool IsRandomId(std::string_view prefix, std::string_view id) {
  constexpr std::size_t kIdChars = 26;
  const std::string_view alphabet(kBase32Alphabet, 32);
  if (id.size() != prefix.size() + kIdChars || !id.starts_with(prefix))
    return false;
  id.remove_prefix(prefix.size());
  for (char c : id)
    if (alphabet.find(c) == std::string_view::npos) return false;
  // 26 characters carry 130 bits; the last two are padding and zero.
  return alphabet.find(id.back()) % 4 == 0;
}

}  // namespace piivault::crypto

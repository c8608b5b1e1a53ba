// Internal to src/crypto: small helpers shared by the OpenSSL call sites.
#pragma once

#include <openssl/err.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace piivault::crypto::internal {

// An OpenSSL failure that cannot be handled (allocation, missing algorithm,
// RNG failure): continuing could mean weak or wrong cryptography, so abort.
[[noreturn]] inline void Fatal(const char* what) {
  std::fprintf(stderr, "piivault: fatal crypto error: %s\n", what);
  ERR_print_errors_fp(stderr);
  std::abort();
}

// Never null: empty string_views may carry a null data() pointer, which some
// OpenSSL entry points treat specially (the SIV provider reads a null input
// as "finalize").
inline const unsigned char* Ptr(std::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.data() == nullptr ? &kEmpty
                             : reinterpret_cast<const unsigned char*>(s.data());
}

// Big-endian 32-bit integers in the binary layouts (sealed values, the
// transfer stream).
inline void PutBigEndian32(unsigned char* out, uint32_t v) {
  out[0] = static_cast<unsigned char>(v >> 24);
  out[1] = static_cast<unsigned char>(v >> 16);
  out[2] = static_cast<unsigned char>(v >> 8);
  out[3] = static_cast<unsigned char>(v);
}

inline uint32_t GetBigEndian32(const unsigned char* in) {
  return (uint32_t{in[0]} << 24) | (uint32_t{in[1]} << 16) |
         (uint32_t{in[2]} << 8) | uint32_t{in[3]};
}

}  // namespace piivault::crypto::internal

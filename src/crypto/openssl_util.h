// Internal to src/crypto: small helpers shared by the OpenSSL call sites.
#pragma once

#include <openssl/err.h>

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

}  // namespace piivault::crypto::internal

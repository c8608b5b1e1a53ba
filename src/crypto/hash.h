// Hashes, MACs and key derivation (OpenSSL 3 EVP).
// Thread safety: all functions are thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "crypto/secret.h"

namespace piivault::crypto {

inline constexpr std::size_t kSha256Size = 32;

// Raw 32-byte digests.
std::string Sha256(std::string_view data);

// SHA-256 of data given in pieces (a backup's ciphertext, hashed as it
// streams). One thread at a time.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view data);
  // The raw 32-byte digest of everything given; the stream starts afresh.
  std::string Finish();

 private:
  void* ctx_;  // EVP_MD_CTX
};
std::string HmacSha256(const SecretBytes& key, std::string_view data);

// RFC 5869 HKDF-SHA256.
SecretBytes HkdfSha256(const SecretBytes& ikm, std::string_view salt,
                       std::string_view info, std::size_t length);

// Constant-time equality (CRYPTO_memcmp); false when sizes differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace piivault::crypto

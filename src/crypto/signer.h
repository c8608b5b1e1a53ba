// Ed25519 signatures (RFC 8032, pure Ed25519: no prehash, no context), for
// signed audit tree heads.
//
// Thread safety: Ed25519Verify is thread-safe; an Ed25519Key's const methods
// may be called concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"
#include "crypto/secret.h"

namespace piivault::crypto {

inline constexpr std::size_t kEd25519SeedSize = 32;
inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SignatureSize = 64;

// A signing key pair. Move-only: the private seed lives in SecretBytes and
// is wiped with the key.
class Ed25519Key {
 public:
  static Ed25519Key Generate();  // from the CSPRNG
  // The RFC 8032 private key is the 32-byte seed. kInvalidArgument for any
  // other size.
  static Result<Ed25519Key> FromSeed(const SecretBytes& seed);

  const SecretBytes& seed() const { return seed_; }
  const std::string& public_key() const { return public_key_; }  // raw 32
  // Hex of the first 8 bytes of SHA-256(public key): names the key in signed
  // heads so that verifiers can pick it after a rotation.
  std::string key_id() const;

  // The 64-byte signature of `message`.
  std::string Sign(std::string_view message) const;

 private:
  Ed25519Key(SecretBytes seed, std::string public_key)
      : seed_(std::move(seed)), public_key_(std::move(public_key)) {}

  SecretBytes seed_;
  std::string public_key_;
};

// The key id of the raw 32-byte `public_key`, as Ed25519Key::key_id names
// it: what a verifier holding only the public key compares a document's
// `key_id` with.
std::string Ed25519KeyId(std::string_view public_key);

// Whether `signature` is a valid Ed25519 signature of `message` under the raw
// 32-byte `public_key`. False for inputs of the wrong size.
bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature);

}  // namespace piivault::crypto

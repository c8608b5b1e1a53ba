// Authenticated encryption: the single place where PII bytes are sealed.
//
// AES-256-GCM, random 96-bit nonce. Sealed layout (all fields binary):
//   version (1 byte, =1) | key_version (4 bytes, big endian) | nonce (12)
//   | ciphertext (len(plaintext)) | tag (16)
// The AAD binds a ciphertext to its place (tenant | collection | record |
// field), so a value moved elsewhere fails to open.
//
// Deterministic AES-256-SIV (RFC 5297) is used where equal inputs must give
// equal outputs (pointer tokens): layout version (1 byte, =1) | SIV tag (16)
// | ciphertext.
//
// Thread safety: all functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/secret.h"

namespace piivault::crypto {

inline constexpr std::size_t kAeadKeySize = 32;     // AES-256-GCM
inline constexpr std::size_t kSivKeySize = 64;      // AES-256-SIV
inline constexpr std::size_t kAeadOverhead = 1 + 4 + 12 + 16;

// REQUIRES: key.size() == kAeadKeySize.
std::string AeadSeal(const SecretBytes& key, uint32_t key_version,
                     std::string_view plaintext, std::string_view aad);

// kDataLoss when the ciphertext is malformed or does not authenticate under
// `key` and `aad` (wrong key, wrong place, tampered bytes). The message never
// includes any of the bytes.
Result<std::string> AeadOpen(const SecretBytes& key, std::string_view sealed,
                             std::string_view aad);

// The key version recorded in a sealed value's header; kDataLoss if the
// header is malformed.
Result<uint32_t> AeadKeyVersion(std::string_view sealed);

// REQUIRES: key.size() == kSivKeySize.
std::string SivSeal(const SecretBytes& key, std::string_view plaintext,
                    std::string_view aad);
Result<std::string> SivOpen(const SecretBytes& key, std::string_view sealed,
                            std::string_view aad);

}  // namespace piivault::crypto

#include "crypto/secret.h"

#include <openssl/crypto.h>

#include <utility>

namespace piivault::crypto {

SecretBytes::SecretBytes(std::size_t size) : bytes_(size, '\0') {}

SecretBytes::SecretBytes(std::string_view bytes) : bytes_(bytes) {}

SecretBytes::~SecretBytes() { Wipe(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : bytes_(std::move(other.bytes_)) {
  // A short string lives in the object itself (SSO), so moving copies the
  // bytes and leaves them behind in `other`: wipe its buffer too.
  other.Wipe();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
    other.Wipe();
  }
  return *this;
}

void SecretBytes::Wipe() {
  // Grow to the full capacity (never reallocates) so that bytes left beyond
  // size() by an earlier shrink or move are wiped as well.
  bytes_.resize(bytes_.capacity());
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
}

}  // namespace piivault::crypto

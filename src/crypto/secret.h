// SecretBytes: key material that is wiped (OPENSSL_cleanse) when destroyed.
// Move-only so that no stray copy outlives its owner.
// Thread safety: like std::string (const methods may be shared).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace piivault::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size);  // zero-filled
  explicit SecretBytes(std::string_view bytes);
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // An explicit copy, for the rare place that must keep two owners.
  SecretBytes Clone() const { return SecretBytes(view()); }

  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  unsigned char* data() {
    return reinterpret_cast<unsigned char*>(bytes_.data());
  }
  const unsigned char* data() const {
    return reinterpret_cast<const unsigned char*>(bytes_.data());
  }
  std::string_view view() const { return bytes_; }

 private:
  void Wipe();
  std::string bytes_;
};

}  // namespace piivault::crypto

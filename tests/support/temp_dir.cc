#include "support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace piivault::testing {

ScopedTempDir::ScopedTempDir() {
  char tmpl[] = "/tmp/piivault-test-XXXXXX";
  if (::mkdtemp(tmpl) != nullptr) {
    path_ = tmpl;
  } else {
    error_ = std::string("mkdtemp: ") + std::strerror(errno);
  }
}

ScopedTempDir::~ScopedTempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ScopedTempDir::File(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

}  // namespace piivault::testing

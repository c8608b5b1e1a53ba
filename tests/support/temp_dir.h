// A fresh directory of the test's own under /tmp, removed with everything in
// it when the object goes (also when the test fails half-way).
#pragma once

#include <string>
#include <string_view>

namespace piivault::testing {

class ScopedTempDir {
 public:
  // Creates the directory (mode 0700); check ok().
  ScopedTempDir();
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  // Why the directory could not be created ("" when ok()).
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }
  // path()/name.
  std::string File(std::string_view name) const;

 private:
  std::string path_;
  std::string error_;
};

}  // namespace piivault::testing

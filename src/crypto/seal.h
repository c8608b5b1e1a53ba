// The `file` seal: the root (master) key lives in a file of exactly 32 raw
// bytes with mode 0600. Everything else is wrapped under keys derived from it.
#pragma once

#include <string>

#include "base/status.h"
#include "crypto/secret.h"

namespace piivault::crypto {

inline constexpr std::size_t kMasterKeySize = 32;

// Creates `path` with O_EXCL and mode 0600 holding a fresh random key.
// kAlreadyExists if the file exists; kUnavailable on I/O errors.
Status WriteNewMasterKeyFile(const std::string& path);

// Loads the master key. Fails with kFailedPrecondition when the file is
// missing, unreadable, not a regular file, not exactly kMasterKeySize bytes,
// or readable/writable by group or others. Messages name the path and the
// problem, never key bytes.
Result<SecretBytes> LoadMasterKeyFile(const std::string& path);

}  // namespace piivault::crypto

#include "crypto/seal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "crypto/random.h"

namespace piivault::crypto {
namespace {

std::string Describe(const std::string& path) {
  return "master key file '" + path + "'";
}

std::string ErrnoText(int err) { return std::strerror(err); }

// Closes the descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error (close can report deferred I/O errors).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

bool WriteAll(int fd, const unsigned char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Reads up to n bytes; returns the count read, or -1 on error.
ssize_t ReadFull(int fd, unsigned char* data, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, data + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return static_cast<ssize_t>(got);
}

std::string ParentDir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status WriteNewMasterKeyFile(const std::string& path) {
  int raw = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (raw < 0) {
    int err = errno;
    if (err == EEXIST) {
      return AlreadyExists(Describe(path) +
                           " already exists; refusing to overwrite it");
    }
    return Unavailable("cannot create " + Describe(path) + ": " +
                       ErrnoText(err));
  }
  Fd fd(raw);
  auto fail = [&](const char* step, int err) {
    // Leave no partial key behind, so that a retry can succeed.
    ::unlink(path.c_str());
    return Unavailable("cannot " + std::string(step) + " " + Describe(path) +
                       ": " + ErrnoText(err));
  };
  // The umask may only have narrowed the mode; make it exactly 0600.
  if (::fchmod(fd.get(), 0600) != 0) return fail("chmod", errno);

  SecretBytes key = RandomSecret(kMasterKeySize);
  if (!WriteAll(fd.get(), key.data(), key.size())) return fail("write", errno);
  if (::fsync(fd.get()) != 0) return fail("fsync", errno);
  if (fd.Close() != 0) return fail("close", errno);

  // Make the new directory entry durable as well.
  int dir = ::open(ParentDir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // best effort: the key itself is already on disk
    ::close(dir);
  }
  return Status::Ok();
}

Result<SecretBytes> LoadMasterKeyFile(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not hang; it is then rejected as not a
  // regular file. Checks use fstat on the opened descriptor (no TOCTOU).
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (raw < 0) {
    int err = errno;
    if (err == ENOENT) {
      return Err(FailedPrecondition(Describe(path) + " does not exist"));
    }
    return Err(FailedPrecondition(Describe(path) +
                                  " cannot be opened: " + ErrnoText(err)));
  }
  Fd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return Err(FailedPrecondition("cannot stat " + Describe(path) + ": " +
                                  ErrnoText(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return Err(FailedPrecondition(Describe(path) + " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o",
                  static_cast<unsigned>(st.st_mode & 07777));
    return Err(FailedPrecondition(
        Describe(path) + " has mode " + mode +
        "; it must not be accessible by group or others (chmod 600)"));
  }
  if (st.st_size != static_cast<off_t>(kMasterKeySize)) {
    return Err(FailedPrecondition(
        Describe(path) + " is " + std::to_string(st.st_size) +
        " bytes; expected exactly " + std::to_string(kMasterKeySize)));
  }
  SecretBytes key(kMasterKeySize);
  ssize_t n = ReadFull(fd.get(), key.data(), key.size());
  if (n < 0) {
    return Err(FailedPrecondition("cannot read " + Describe(path) + ": " +
                                  ErrnoText(errno)));
  }
  unsigned char extra;
  if (static_cast<std::size_t>(n) != kMasterKeySize ||
      ReadFull(fd.get(), &extra, 1) != 0) {
    return Err(
        FailedPrecondition(Describe(path) + " changed size while being read"));
  }
  return key;
}

}  // namespace piivault::crypto

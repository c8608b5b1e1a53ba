#include "cli/transfer_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "base/encoding.h"
#include "cli/deployment.h"
#include "crypto/secret.h"
#include "crypto/transfer_stream.h"

namespace piivault::cli {
namespace {

// Closes the descriptor when it goes.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool Close() {
    if (fd_ < 0) return true;
    const bool ok = ::close(fd_) == 0;
    fd_ = -1;
    return ok;
  }

 private:
  int fd_;
};

std::string ErrnoText(int err) { return std::strerror(err); }

Status WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Unavailable("cannot write the output: " + ErrnoText(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

// The private key file: base64 of the raw 32 bytes, surrounding whitespace
// allowed. Like the master key, it must not be readable by group or others.
Result<crypto::SecretBytes> LoadTransferPrivateKey(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    return Err(FailedPrecondition("cannot open the key file " + path + ": " +
                                  ErrnoText(errno)));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Err(
        FailedPrecondition("the key file " + path + " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    return Err(FailedPrecondition(
        "the key file " + path +
        " is accessible by group or others; it must not be (chmod 600)"));
  }
  // A base64 key and a newline; anything much longer is not a key file.
  crypto::SecretBytes text(256);
  std::size_t len = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), text.data() + len, text.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Err(FailedPrecondition("cannot read the key file " + path + ": " +
                                    ErrnoText(errno)));
    }
    if (n == 0) break;
    len += static_cast<std::size_t>(n);
    if (len == text.size()) break;
  }
  std::string_view b64 = text.view().substr(0, len);
  while (!b64.empty() && std::isspace(static_cast<unsigned char>(b64.back())))
    b64.remove_suffix(1);
  while (!b64.empty() && std::isspace(static_cast<unsigned char>(b64.front())))
    b64.remove_prefix(1);
  std::optional<std::string> raw = Base64Decode(b64);
  std::optional<crypto::SecretBytes> key;
  if (raw && raw->size() == crypto::kX25519KeySize) key.emplace(*raw);
  if (raw) ::explicit_bzero(raw->data(), raw->size());
  if (!key) {
    return Err(InvalidArgument(
        "the key file " + path +
        " does not hold an X25519 private key (the base64 of 32 bytes, as "
        "`piivault export keygen` writes)"));
  }
  return *std::move(key);
}

Status ReadTransferFile(const std::string& in_path,
                        const crypto::SecretBytes* key,
                        const crypto::ByteSink& raw,
                        const crypto::ByteSink& plaintext) {
  Fd in(::open(in_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (in.get() < 0) {
    return FailedPrecondition("cannot open " + in_path + ": " +
                              ErrnoText(errno));
  }
  std::optional<crypto::TransferStreamReader> reader;
  if (key) {
    PV_ASSIGN_OR_RETURN(reader,
                        crypto::TransferStreamReader::Create(*key, plaintext));
  }
  std::string buf(crypto::kTransferDefaultChunkSize, '\0');
  for (;;) {
    const ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Unavailable("cannot read " + in_path + ": " + ErrnoText(errno));
    }
    if (n == 0) break;
    const std::string_view piece(buf.data(), static_cast<std::size_t>(n));
    if (raw) PV_RETURN_IF_ERROR(raw(piece));
    PV_RETURN_IF_ERROR(reader ? reader->Write(piece) : plaintext(piece));
  }
  return reader ? reader->Finish() : Status::Ok();
}

Result<std::string> TransferKeygen(const std::string& private_key_path) {
  crypto::X25519KeyPair pair = crypto::X25519KeyPair::Generate();
  std::string text = Base64Encode(pair.private_key.view());
  text += '\n';
  Status written = WriteNewFile(private_key_path, text, 0600);
  ::explicit_bzero(text.data(), text.size());
  PV_RETURN_IF_ERROR(written);
  return Base64Encode(pair.public_key);
}

Status TransferDecrypt(const std::string& key_path, const std::string& in_path,
                       const std::string& out_path) {
  PV_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                      LoadTransferPrivateKey(key_path));
  // Refuse an input that cannot be opened before creating the output.
  if (::access(in_path.c_str(), R_OK) != 0) {
    return FailedPrecondition("cannot open " + in_path + ": " +
                              ErrnoText(errno));
  }
  return WriteNewPrivateFile(out_path, [&](const FileWriter& write) {
    return ReadTransferFile(in_path, &key, nullptr, write);
  });
}

Status WriteNewPrivateFile(
    const std::string& out_path,
    const std::function<Status(const FileWriter&)>& produce) {
  Fd out(
      ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0) {
    if (errno == EEXIST) {
      return AlreadyExists(out_path +
                           " already exists; refusing to overwrite it");
    }
    return Unavailable("cannot create " + out_path + ": " + ErrnoText(errno));
  }
  auto write = [&]() -> Status {
    PV_RETURN_IF_ERROR(produce(
        [&](std::string_view bytes) { return WriteAll(out.get(), bytes); }));
    if (::fsync(out.get()) != 0 || !out.Close()) {
      return Unavailable("cannot write " + out_path + ": " + ErrnoText(errno));
    }
    return Status::Ok();
  };
  Status status = write();
  if (!status.ok()) {
    out.Close();
    ::unlink(out_path.c_str());
  }
  return status;
}

}  // namespace piivault::cli

#include "cli/backup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "base/crash_point.h"
#include "cli/progress.h"
#include "lifecycle/backup.h"

namespace piivault::cli {
namespace {

std::string Errno() { return std::strerror(errno); }

// A descriptor closed when it goes.
struct File {
  int fd = -1;
  File() = default;
  explicit File(int f) : fd(f) {}
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() {
    if (fd >= 0) ::close(fd);
  }
};

lifecycle::BackupService Service(Deployment& d) {
  return lifecycle::BackupService(d.router.get(), &d.vault->control,
                                  &d.vault->erasures, d.audit.get(),
                                  d.signer.get(), &d.clock);
}

void SyncDirectoryOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos
                              ? "."
                              : path.substr(0, std::max<std::size_t>(slash, 1));
  File d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.fd >= 0) ::fsync(d.fd);
}

// The operator-admin key: the file's text without surrounding whitespace.
Result<std::string> ReadApiKey(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Err(FailedPrecondition("cannot read the API key file"));
  std::stringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  const auto space = [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
  };
  while (!key.empty() && space(key.back())) key.pop_back();
  std::size_t start = 0;
  while (start < key.size() && space(key[start])) ++start;
  return key.substr(start);
}

}  // namespace

Status BackupRegion(Deployment& d, const std::string& region,
                    const std::string& out_path) {
  if (::access(out_path.c_str(), F_OK) == 0) {
    return AlreadyExists(out_path +
                         " already exists; refusing to overwrite it");
  }
  // A partial file of an earlier, interrupted run is ours to replace.
  const std::string partial = out_path + ".partial";
  File out(::open(partial.c_str(),
                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (out.fd < 0)
    return Unavailable("cannot create " + partial + ": " + Errno());
  // Ended (its line finished) before anything else is printed.
  std::optional<Progress> bar(std::in_place, "backup " + region, "items");
  auto written = Service(d).Backup(
      region,
      [&](std::string_view bytes) -> Status {
        while (!bytes.empty()) {
          const ssize_t n = ::write(out.fd, bytes.data(), bytes.size());
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0)
            return Unavailable("cannot write " + partial + ": " + Errno());
          bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return Status::Ok();
      },
      [&](int64_t done, int64_t) { bar->Update(done); });
  bar.reset();
  if (!written) {
    ::unlink(partial.c_str());
    return written.error();
  }
  if (::fsync(out.fd) != 0)
    return Unavailable("cannot write " + partial + ": " + Errno());
  CrashPoint("backup.written");
  // link() never replaces a file, unlike rename().
  if (::link(partial.c_str(), out_path.c_str()) != 0) {
    const Status s =
        errno == EEXIST
            ? AlreadyExists(out_path +
                            " already exists; refusing to overwrite it")
            : Unavailable("cannot create " + out_path + ": " + Errno());
    ::unlink(partial.c_str());
    return s;
  }
  ::unlink(partial.c_str());
  SyncDirectoryOf(out_path);
  std::cout << "backup " << written->header.backup_id << " of region " << region
            << ": " << written->rows << " rows, " << written->counters
            << " counters, in " << out_path << "\n";
  return Status::Ok();
}

Status RestoreRegion(Deployment& d, const std::string& region,
                     const std::string& in_path, const std::string& reason,
                     const std::string& api_key_file) {
  PV_ASSIGN_OR_RETURN(std::string api_key, ReadApiKey(api_key_file));
  auto who = d.vault->identities.Authenticate(vault::RequestContext(), api_key);
  if (!who) return who.error();
  File in(::open(in_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (in.fd < 0)
    return FailedPrecondition("cannot open " + in_path + ": " + Errno());
  struct stat st;
  if (::fstat(in.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return FailedPrecondition(in_path + " is not a regular file");
  }
  lifecycle::BackupInput input;
  input.size = static_cast<uint64_t>(st.st_size);
  input.read_at = [&](uint64_t offset, char* buf, std::size_t n) -> Status {
    while (n > 0) {
      const ssize_t got = ::pread(in.fd, buf, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0)
        return DataLoss("cannot read " + in_path +
                        ": it is shorter than it was");
      buf += got;
      n -= static_cast<std::size_t>(got);
      offset += static_cast<uint64_t>(got);
    }
    return Status::Ok();
  };
  std::optional<Progress> bar(std::in_place, "restore " + region, "items");
  auto restored = Service(d).Restore(*who, region, reason, input,
                                     [&](int64_t done, int64_t total) {
                                       bar->set_total(total);
                                       bar->Update(done);
                                     });
  bar.reset();
  if (!restored) return restored.error();
  std::cout << (restored->resumed ? "finished the interrupted restore of "
                                  : "restored ")
            << "region " << region << " from backup "
            << restored->backup.header.backup_id << ": "
            << restored->backup.rows << " rows, " << restored->backup.counters
            << " counters; " << restored->dropped_items
            << " items of disposed tenants left out; "
            << restored->erasures_reapplied
            << " erasures applied again; operator audit entry "
            << restored->audit_index << "\n";
  return Status::Ok();
}

Status CheckNoPendingRestore(Deployment& d) {
  PV_ASSIGN_OR_RETURN(auto pending, Service(d).PendingRestores());
  if (pending.empty()) return Status::Ok();
  return FailedPrecondition(
      "region " + pending.front().region +
      " has an interrupted restore (backup " + pending.front().backup_id +
      "); finish it with `piivault restore` and that backup before serving");
}

}  // namespace piivault::cli

// `piivault backup` and `piivault restore`: offline commands on a
// deployment's configuration (lifecycle/backup.h; the file format is
// docs/formats/backup.md, operation docs/operations/backup.md).
#pragma once

#include <string>

#include "base/status.h"
#include "cli/deployment.h"

namespace piivault::cli {

// Writes a backup of `region` to the new file `out_path`: to
// `out_path`.partial first (ciphertext only, mode 0600), fsynced, then
// linked into place, so a crash never leaves a file at `out_path` that is
// not a whole backup; an existing `out_path` is never overwritten
// (kAlreadyExists). Draws a progress bar on a terminal.
Status BackupRegion(Deployment& deployment, const std::string& region,
                    const std::string& out_path);

// Restores `region` from `in_path` with the operator-admin API key in
// `api_key_file` and the operator's `reason`. The server must be stopped.
Status RestoreRegion(Deployment& deployment, const std::string& region,
                     const std::string& in_path, const std::string& reason,
                     const std::string& api_key_file);

// kFailedPrecondition naming the region while a restore is unfinished:
// `serve` refuses to start until the restore is run again.
Status CheckNoPendingRestore(Deployment& deployment);

}  // namespace piivault::cli

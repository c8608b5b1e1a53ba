// Offline verification of an exported audit log (AuditLog::Export, format in
// audit_log.h): needs the export file and the deployment's public key, no
// server and no database.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"

namespace piivault::audit {

struct Verdict {
  bool ok = false;
  std::optional<uint64_t> first_bad_index;
  std::string problem;  // empty when ok
};

// Checks the head's signature, that the entries are exactly the tree the
// head signs (in order, none missing, none changed), and, given a head the
// verifier kept from earlier, that the log only grew since.
Verdict VerifyExport(const LogExport& exported, std::string_view public_key,
                     const std::optional<SignedHead>& previous);

}  // namespace piivault::audit

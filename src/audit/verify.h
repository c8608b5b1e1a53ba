// Offline verification of an exported audit log: needs the export file and
// the deployment's public key, no server and no database.
//
// Export format (JSON): {"format":"piivault-audit-export-v1","log_id",
// "head":<signed head>,"entries":[<entry text> | null, ...],
// "leaf_hashes":[<hex>, ...]} — entries are the exact bytes the tree hashes
// (null where the server could not read a stored entry: missing, or failing
// its integrity check); leaf_hashes are the leaf hashes the server stored,
// which locate a modified entry when they match the signed head.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"

namespace piivault::audit {

struct LogExport {
  std::string log_id;
  SignedHead head;
  std::vector<std::optional<std::string>> entries;
  std::vector<Hash> leaf_hashes;

  std::string ToJson() const;
  static Result<LogExport> FromJson(std::string_view json);
};

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

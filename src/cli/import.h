// `piivault import`: loads a tenant export (docs/operations/import.md) into
// a tenant of another deployment over its HTTP API, run by a tenant-admin
// of that tenant. The stream is checked whole before anything changes; the
// import keeps record ids and replays consent events in order, and is
// resumable: a rerun skips what is already there and equal, and refuses
// what is there and different.
#pragma once

#include <string>
#include <string_view>

#include "api/client.h"
#include "base/status.h"

namespace piivault::cli {

struct ImportOptions {
  api::ClientOptions client;
  std::string purpose = "service_delivery";  // X-Purpose of the data plane
  std::string tenant;                        // the target tenant
  std::string in_path;                       // the export (or its encryption)
  std::string decrypt_key_path;  // set: the input is a transfer stream
  std::string manifest_path;     // set: check the stream against it
  std::string public_key_b64;    // the exporting deployment's signing key
  std::string token_map_path;    // set: write old -> new token lines here
};

// Runs the import and prints a summary (counts only) to standard output.
// kInvalidArgument naming the line for a stream that breaks a rule (nothing
// changed), kDataLoss for a stream that does not decrypt, or does not match
// its manifest (nothing changed), kFailedPrecondition for data of the
// target that differs from the stream, or an answer of the server that
// refuses a line (what came before it stays: rerun after fixing).
Status RunImport(const ImportOptions& options);

// Percent-encodes one URL path segment (principal ids may hold any
// character).
std::string PathSegment(std::string_view s);

}  // namespace piivault::cli

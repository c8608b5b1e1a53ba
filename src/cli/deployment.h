// Opens a deployment from its configuration: stores, keyring, services.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "base/config.h"
#include "crypto/keyring.h"
#include "services/vault.h"
#include "storage/region_router.h"

namespace piivault::cli {

struct Deployment {
  Config config;
  SystemClock clock;
  std::unique_ptr<storage::RegionRouter> router;
  std::unique_ptr<crypto::Keyring> keyring;
  std::unique_ptr<crypto::Ed25519Key> signer;  // signs audit tree heads
  std::unique_ptr<audit::AuditLog> audit;
  std::unique_ptr<services::Vault> vault;
};

// Loads the master key (refusing a missing, unreadable, wrongly sized or
// group/world-readable key file), opens every store and checks the key
// belongs to the control store.
Result<std::unique_ptr<Deployment>> OpenDeployment(Config config);

// The server's I/O threads for `config` on a machine of `cores`: [server]
// threads when set; otherwise one per core, plus, when a store is reached
// over the network, one per connection of its pool, since a request's point
// reads then hold an I/O thread for each round trip.
int ServerThreads(const Config& config, unsigned cores);

// `piivault init`: writes DIR/piivault.toml (or keeps one the operator wrote
// there first), the master key, a self-signed TLS pair, creates the stores
// and the first operator-admin. Returns its API key. Refuses to touch a
// directory or a control store that already holds a deployment.
Result<std::string> InitDeployment(const std::string& dir);

// Writes a new file with `mode` and fsyncs it; kAlreadyExists rather than
// overwrite one.
Status WriteNewFile(const std::string& path, std::string_view content,
                    mode_t mode);

}  // namespace piivault::cli

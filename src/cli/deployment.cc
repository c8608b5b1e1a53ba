#include "cli/deployment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "crypto/seal.h"
#include "crypto/x509.h"
#include "vault/storage_keys.h"
#include "vault/tenants.h"

namespace piivault::cli {

Status WriteNewFile(const std::string& path, std::string_view content,
                    mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return AlreadyExists(path + " already exists");
    return Unavailable("cannot create " + path);
  }
  bool ok = ::write(fd, content.data(), content.size()) ==
                static_cast<ssize_t>(content.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Unavailable("cannot write " + path);
  return Status::Ok();
}

// Every region a tenant uses must still be configured, or that tenant's
// principals there would silently vanish from reads.
Status CheckTenantRegions(Deployment& d) {
  PV_ASSIGN_OR_RETURN(auto tenants, vault::ListTenants(d.vault->control));
  for (auto& tenant : tenants) {
    for (auto& region : tenant.regions)
      if (!d.router->region_config(region))
        return FailedPrecondition("tenant " + tenant.id + " uses region " +
                                  region +
                                  ", which the configuration does not define");
  }
  return Status::Ok();
}

int ServerThreads(const Config& config, unsigned cores) {
  if (config.server.threads > 0) return config.server.threads;
  int threads = static_cast<int>(std::max(1u, cores));
  bool networked = storage::IsNetworkedBackend(config.control_backend);
  for (const RegionConfig& region : config.regions)
    networked = networked || storage::IsNetworkedBackend(region.backend);
  if (networked) threads += static_cast<int>(config.storage_pool_size);
  return threads;
}

Result<std::unique_ptr<Deployment>> OpenDeployment(Config config) {
  auto d = std::make_unique<Deployment>();
  d->config = std::move(config);
  PV_ASSIGN_OR_RETURN(auto root,
                      crypto::LoadMasterKeyFile(d->config.master_key_file));
  PV_ASSIGN_OR_RETURN(d->router, storage::RegionRouter::Open(d->config));
  d->keyring =
      std::make_unique<crypto::Keyring>(std::move(root), &d->router->control());
  if (Status s = d->keyring->InitializeOrVerify(); !s.ok()) {
    if (s.code() != StatusCode::kUnavailable) return Err(s);
    return Err(Unavailable("control store unreachable: " + s.message()));
  }
  PV_ASSIGN_OR_RETURN(auto signer, d->keyring->LoadOrCreateSigningKey());
  d->signer = std::make_unique<crypto::Ed25519Key>(std::move(signer));
  d->audit = std::make_unique<audit::AuditLog>(
      &d->router->control(), d->keyring.get(), d->signer.get(), &d->clock);
  d->vault = std::make_unique<services::Vault>(d->router.get(),
                                               d->keyring.get(), &d->clock);
  d->vault->EnableAuditedJobs(d->audit.get(),
                              {.interval = d->config.retention_interval});
  d->vault->terminations.set_default_return_period(
      d->config.tenant_return_period);
  d->vault->sub_processors.set_notice_period(
      d->config.sub_processor_notice_period);
  d->vault->incidents.set_notice_deadline(d->config.incident_notice_deadline);
  // The one listener, with the TLS floor server.cc sets (no TLS < 1.2).
  const ServerConfig& server = d->config.server;
  const bool tls = !server.tls_cert.empty();
  d->vault->listeners = {
      {"api", server.host, server.port, tls, tls ? "TLSv1.2" : ""}};
  PV_RETURN_IF_ERROR(CheckTenantRegions(*d));
  return d;
}

Result<std::string> InitDeployment(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Err(Unavailable("cannot create directory " + dir));
  fs::permissions(dir, fs::perms::owner_all, ec);
  std::string config_path = (fs::path(dir) / "piivault.toml").string();
  auto exists = [&](const std::string& name) {
    return fs::exists(fs::path(dir) / name);
  };
  // An operator may write piivault.toml first (e.g. PostgreSQL backends);
  // init then keeps it and creates everything else.
  const bool own_config =
      exists("piivault.toml") && !exists("master.key") && !exists("admin.key");
  if (!own_config) {
    if (exists("piivault.toml") || exists("master.key") || exists("control.db"))
      return Err(AlreadyExists("a deployment already exists in " + dir +
                               "; refusing to overwrite it"));
    PV_RETURN_IF_ERROR(WriteNewFile(config_path, DefaultConfigToml(), 0644));
  }
  PV_ASSIGN_OR_RETURN(auto config, LoadConfigFile(config_path));
  if (fs::exists(config.master_key_file))
    return Err(AlreadyExists("a deployment already exists in " + dir +
                             "; refusing to overwrite it"));
  {
    PV_ASSIGN_OR_RETURN(auto stores, storage::RegionRouter::Open(config));
    PV_ASSIGN_OR_RETURN(auto any, stores->control().Scan("", "", 1));
    if (!any.empty())
      return Err(AlreadyExists(
          "the control store already holds a deployment; refusing to "
          "overwrite it"));
  }
  PV_RETURN_IF_ERROR(crypto::WriteNewMasterKeyFile(config.master_key_file));

  fs::path tls_dir = fs::path(config.dir) / "tls";
  fs::create_directories(tls_dir, ec);
  if (ec) return Err(Unavailable("cannot create " + tls_dir.string()));
  if (!fs::exists(tls_dir / "cert.pem") && !fs::exists(tls_dir / "key.pem")) {
    PV_ASSIGN_OR_RETURN(auto pem,
                        crypto::MakeSelfSignedLocalhostCertificate(365));
    PV_RETURN_IF_ERROR(WriteNewFile((tls_dir / "cert.pem").string(),
                                    pem.certificate_pem, 0644));
    PV_RETURN_IF_ERROR(WriteNewFile((tls_dir / "key.pem").string(),
                                    pem.private_key_pem, 0600));
  }

  PV_ASSIGN_OR_RETURN(auto deployment, OpenDeployment(std::move(config)));
  // On no request's behalf: the deployment is being initialized.
  PV_ASSIGN_OR_RETURN(auto issued,
                      deployment->vault->identities.Create(
                          vault::RequestContext(), "initial operator admin",
                          vault::Role::kOperatorAdmin, ""));
  PV_RETURN_IF_ERROR(
      WriteNewFile((fs::path(deployment->config.dir) / "admin.key").string(),
                   issued.api_key + "\n", 0600));
  return issued.api_key;
}

}  // namespace piivault::cli

#include "storage/region_router.h"

#include "storage/write_hook.h"

namespace piivault::storage {

Result<std::unique_ptr<RegionRouter>> RegionRouter::Open(const Config& config) {
  const BackendOptions options{
      .base_dir = config.dir,
      .pool_size = config.storage_pool_size,
      .pool_wait_timeout = config.storage_pool_wait_timeout,
      .statement_timeout = config.storage_statement_timeout,
      .sqlite_cache_kib = config.storage_sqlite_cache_kib};
  // Errors name the store, never its URL (which may carry credentials).
  auto named = [](const std::string& store, const Status& s) {
    return Status(s.code(), store + ": " + s.message(), s.reason());
  };
  // Every store is hooked, so a request's audit event is written before the
  // first change it makes anywhere (storage/write_hook.h).
  auto hooked = [](std::unique_ptr<Backend> b) -> std::unique_ptr<Backend> {
    return std::make_unique<HookedBackend>(std::move(b));
  };
  auto control = OpenBackend(config.control_backend, options);
  if (!control) return Err(named("control store", control.error()));
  std::map<std::string, std::unique_ptr<Backend>> backends;
  for (auto& region : config.regions) {
    auto backend = OpenBackend(region.backend, options);
    if (!backend) return Err(named("region " + region.id, backend.error()));
    backends.emplace(region.id, hooked(*std::move(backend)));
  }
  return std::make_unique<RegionRouter>(hooked(*std::move(control)),
                                        config.regions, std::move(backends));
}

RegionRouter::RegionRouter(
    std::unique_ptr<Backend> control, std::vector<RegionConfig> regions,
    std::map<std::string, std::unique_ptr<Backend>> backends)
    : control_(std::move(control)), regions_(std::move(regions)) {
  for (auto& [id, backend] : backends)
    backends_.emplace(id, std::move(backend));
}

Backend* RegionRouter::region(std::string_view region) {
  auto it = backends_.find(region);
  return it == backends_.end() ? nullptr : it->second.get();
}

const RegionConfig* RegionRouter::region_config(std::string_view region) const {
  for (auto& r : regions_)
    if (r.id == region) return &r;
  return nullptr;
}

}  // namespace piivault::storage

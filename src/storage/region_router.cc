#include "storage/region_router.h"

namespace piivault::storage {

Result<std::unique_ptr<RegionRouter>> RegionRouter::Open(const Config& config) {
  PV_ASSIGN_OR_RETURN(auto control,
                      OpenBackend(config.control_backend, config.dir));
  std::map<std::string, std::unique_ptr<Backend>> backends;
  for (auto& region : config.regions) {
    PV_ASSIGN_OR_RETURN(auto backend, OpenBackend(region.backend, config.dir));
    backends.emplace(region.id, std::move(backend));
  }
  return std::make_unique<RegionRouter>(std::move(control), config.regions,
                                        std::move(backends));
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

// The deployment's stores: one control store and one backend per region.
// A principal's data is written only to its region's backend.
// Thread safety: immutable after Open(); backends are thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/config.h"
#include "storage/backend.h"

namespace piivault::storage {

class RegionRouter {
 public:
  // Opens the control store and every region backend named in `config`.
  static Result<std::unique_ptr<RegionRouter>> Open(const Config& config);
  // For tests: takes already-open backends.
  RegionRouter(std::unique_ptr<Backend> control,
               std::vector<RegionConfig> regions,
               std::map<std::string, std::unique_ptr<Backend>> backends);

  Backend& control() { return *control_; }
  // nullptr when `region` is not configured.
  Backend* region(std::string_view region);
  const std::vector<RegionConfig>& regions() const { return regions_; }
  const RegionConfig* region_config(std::string_view region) const;

 private:
  std::unique_ptr<Backend> control_;
  std::vector<RegionConfig> regions_;
  std::map<std::string, std::unique_ptr<Backend>, std::less<>> backends_;
};

}  // namespace piivault::storage

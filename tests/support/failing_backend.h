// A store over another whose writes fail with kUnavailable, applying nothing,
// while `fail_writes` is set, as on a full disk; reads go on. Header-only:
// needs pv_storage, which every test that includes it links.
#pragma once

#include <atomic>

#include "storage/forwarding_backend.h"

namespace piivault::testing {

class FailingBackend final : public storage::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  Status Write(const storage::WriteBatch& batch) override {
    if (fail_writes) return Unavailable("injected: the disk is full");
    return ForwardingBackend::Write(batch);
  }
  std::atomic<bool> fail_writes{false};
};

}  // namespace piivault::testing

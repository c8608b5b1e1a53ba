// Write-ahead hooks: an action that must succeed before anything changes.
//
// While a BeforeFirstWrite scope lives on a thread, the first Write() that
// thread sends to any HookedBackend first runs the scope's action (once); if
// the action fails, that write fails with its status and nothing is written.
// The audit log uses it to make a request's event durable before the change
// the event records, so a change is never made unaudited.
//
// Thread safety: scopes are per thread; HookedBackend is as thread-safe as
// the backend it wraps.
#pragma once

#include <functional>
#include <memory>

#include "storage/forwarding_backend.h"

namespace piivault::storage {

class BeforeFirstWrite {
 public:
  explicit BeforeFirstWrite(std::function<Status()> action);
  ~BeforeFirstWrite();
  BeforeFirstWrite(const BeforeFirstWrite&) = delete;
  BeforeFirstWrite& operator=(const BeforeFirstWrite&) = delete;

  // Runs and disarms this thread's pending action, if any.
  static Status RunPending();
  bool fired() const { return fired_; }

 private:
  std::function<Status()> action_;
  bool fired_ = false;
  BeforeFirstWrite* outer_;
};

// Owns the backend it wraps and runs the thread's pending action before
// every write.
class HookedBackend final : public ForwardingBackend {
 public:
  explicit HookedBackend(std::unique_ptr<Backend> inner)
      : ForwardingBackend(inner.get()), inner_(std::move(inner)) {}

  Status Write(const WriteBatch& batch) override {
    PV_RETURN_IF_ERROR(BeforeFirstWrite::RunPending());
    return ForwardingBackend::Write(batch);
  }

 private:
  std::unique_ptr<Backend> inner_;
};

}  // namespace piivault::storage

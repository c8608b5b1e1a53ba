// Write-ahead: an action that must succeed before a request changes anything.
//
// The batches a request builds name its WriteAhead (WriteBatch(write_ahead));
// a HookedBackend runs it, once, before it applies the first of them; if the
// action fails, that batch and every later one of the request fail with its
// status and nothing is written. The audit log uses it to make a request's
// event durable before the change the event records, so a change is never
// made unaudited.
//
// Thread safety: a WriteAhead belongs to one request and is not thread-safe;
// HookedBackend is as thread-safe as the backend it wraps.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "storage/forwarding_backend.h"

namespace piivault::storage {

class WriteAhead {
 public:
  explicit WriteAhead(std::function<Status()> action)
      : action_(std::move(action)) {}
  WriteAhead(const WriteAhead&) = delete;
  WriteAhead& operator=(const WriteAhead&) = delete;

  // The action's status: it runs on the first call only.
  Status Run();
  bool fired() const { return result_.has_value(); }

 private:
  std::function<Status()> action_;
  std::optional<Status> result_;
};

// Owns the backend it wraps and runs each batch's write-ahead before
// applying it.
class HookedBackend final : public ForwardingBackend {
 public:
  explicit HookedBackend(std::unique_ptr<Backend> inner)
      : ForwardingBackend(inner.get()), inner_(std::move(inner)) {}

  Status Write(const WriteBatch& batch) override {
    if (WriteAhead* write_ahead = batch.write_ahead())
      PV_RETURN_IF_ERROR(write_ahead->Run());
    return ForwardingBackend::Write(batch);
  }

 private:
  std::unique_ptr<Backend> inner_;
};

}  // namespace piivault::storage

#include "storage/write_hook.h"

namespace piivault::storage {
namespace {
thread_local BeforeFirstWrite* current = nullptr;
}  // namespace

BeforeFirstWrite::BeforeFirstWrite(std::function<Status()> action)
    : action_(std::move(action)), outer_(current) {
  current = this;
}

BeforeFirstWrite::~BeforeFirstWrite() { current = outer_; }

Status BeforeFirstWrite::RunPending() {
  BeforeFirstWrite* scope = current;
  if (scope == nullptr || scope->fired_) return Status::Ok();
  // Disarm first: the action's own writes (the audit append) must pass.
  scope->fired_ = true;
  return scope->action_();
}

}  // namespace piivault::storage

// A Backend that forwards every call to another one: the base of wrappers
// that change one behaviour (write-ahead hooks, fault injection in tests).
#pragma once

#include "storage/backend.h"

namespace piivault::storage {

class ForwardingBackend : public Backend {
 public:
  // REQUIRES: `target` outlives this.
  explicit ForwardingBackend(Backend* target) : target_(target) {}

  Result<std::optional<std::string>> Get(std::string_view key) override {
    return target_->Get(key);
  }
  Result<std::vector<std::optional<std::string>>> MultiGet(
      std::span<const std::string> keys) override {
    return target_->MultiGet(keys);
  }
  Result<std::vector<KeyValue>> Scan(std::string_view prefix,
                                     std::string_view start,
                                     std::size_t limit) override {
    return target_->Scan(prefix, start, limit);
  }
  std::optional<std::uint64_t> ChangeStamp(std::string_view key) override {
    return target_->ChangeStamp(key);
  }
  Result<int64_t> SumCounters(std::string_view prefix) override {
    return target_->SumCounters(prefix);
  }
  Status Write(const WriteBatch& batch) override {
    return target_->Write(batch);
  }
  Status Dump(const DumpSink& sink) override { return target_->Dump(sink); }
  Status ReplaceAll(const DumpSource& source) override {
    return target_->ReplaceAll(source);
  }
  Status DeleteCounters(std::string_view prefix) override {
    return target_->DeleteCounters(prefix);
  }
  Status Compact() override { return target_->Compact(); }

 private:
  Backend* target_;
};

}  // namespace piivault::storage

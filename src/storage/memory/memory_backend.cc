#include "storage/memory/memory_backend.h"

#include <algorithm>
#include <cstring>
#include <mutex>

namespace piivault::storage {

bool UnsignedByteLess::operator()(std::string_view a,
                                  std::string_view b) const noexcept {
  const std::size_t n = std::min(a.size(), b.size());
  if (n != 0) {
    // memcmp compares as unsigned char.
    const int c = std::memcmp(a.data(), b.data(), n);
    if (c != 0) return c < 0;
  }
  return a.size() < b.size();
}

Result<std::optional<std::string>> MemoryBackend::Get(std::string_view key) {
  std::shared_lock lock(mu_);
  auto it = data_.find(key);
  if (it == data_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Result<std::vector<std::optional<std::string>>> MemoryBackend::MultiGet(
    std::span<const std::string> keys) {
  std::vector<std::optional<std::string>> out;
  out.reserve(keys.size());
  std::shared_lock lock(mu_);  // one lock: a consistent snapshot
  for (const std::string& key : keys) {
    auto it = data_.find(key);
    if (it == data_.end()) {
      out.emplace_back();
    } else {
      out.emplace_back(it->second);
    }
  }
  return out;
}

Result<std::vector<KeyValue>> MemoryBackend::Scan(std::string_view prefix,
                                                  std::string_view start,
                                                  std::size_t limit) {
  std::vector<KeyValue> out;
  if (limit == 0) return out;
  const UnsignedByteLess less;
  const std::string_view from = less(start, prefix) ? prefix : start;
  std::shared_lock lock(mu_);
  for (auto it = data_.lower_bound(from);
       it != data_.end() && out.size() < limit; ++it) {
    // Keys are sorted, so the first one without the prefix ends the range.
    if (!std::string_view(it->first).starts_with(prefix)) break;
    out.push_back({it->first, it->second});
  }
  return out;
}

Result<int64_t> MemoryBackend::SumCounters(std::string_view prefix) {
  std::shared_lock lock(mu_);
  int64_t sum = 0;
  for (auto it = counters_.lower_bound(prefix);
       it != counters_.end() && std::string_view(it->first).starts_with(prefix);
       ++it) {
    sum += it->second;
  }
  return sum;
}

Status MemoryBackend::DeleteCounters(std::string_view prefix) {
  std::unique_lock lock(mu_);
  auto it = counters_.lower_bound(prefix);
  while (it != counters_.end() &&
         std::string_view(it->first).starts_with(prefix))
    it = counters_.erase(it);
  return Status::Ok();
}

Status MemoryBackend::Compact() { return Status::Ok(); }

Status MemoryBackend::Write(const WriteBatch& batch) {
  std::unique_lock lock(mu_);
  for (const WriteBatch::Condition& cond : batch.conditions()) {
    auto it = data_.find(cond.key);
    const bool holds =
        cond.expected_value.has_value()
            ? (it != data_.end() && it->second == *cond.expected_value)
            : it == data_.end();
    if (!holds) return Aborted("write condition does not hold");
  }
  for (const WriteBatch::Op& op : batch.ops()) {
    switch (op.kind) {
      case WriteBatch::Op::Kind::kPut:
        data_.insert_or_assign(op.key, op.value);
        break;
      case WriteBatch::Op::Kind::kDelete: {
        auto it = data_.find(op.key);
        if (it != data_.end()) data_.erase(it);
        break;
      }
      case WriteBatch::Op::Kind::kAdd:
        counters_[op.key] += op.delta;
        break;
    }
  }
  return Status::Ok();
}

// The shared lock is the snapshot: writers wait until the dump is done (a
// memory store holds nothing worth a copy-on-write scheme).
Status MemoryBackend::Dump(const DumpSink& sink) {
  std::shared_lock lock(mu_);
  DumpItem item;
  item.kind = DumpItem::Kind::kRow;
  for (const auto& [key, value] : data_) {
    item.key = key;
    item.value = value;
    PV_RETURN_IF_ERROR(sink(item));
  }
  item.kind = DumpItem::Kind::kCounter;
  item.value.clear();
  for (const auto& [key, n] : counters_) {
    item.key = key;
    item.counter = n;
    PV_RETURN_IF_ERROR(sink(item));
  }
  return Status::Ok();
}

// Built aside and swapped in, so a failing source changes nothing.
Status MemoryBackend::ReplaceAll(const DumpSource& source) {
  std::map<std::string, std::string, UnsignedByteLess> data;
  std::map<std::string, int64_t, UnsignedByteLess> counters;
  DumpItem item;
  for (;;) {
    PV_ASSIGN_OR_RETURN(bool more, source(item));
    if (!more) break;
    if (item.kind == DumpItem::Kind::kRow) {
      data.insert_or_assign(std::move(item.key), std::move(item.value));
    } else {
      counters[std::move(item.key)] += item.counter;
    }
    item = DumpItem();
  }
  std::unique_lock lock(mu_);
  data_.swap(data);
  counters_.swap(counters);
  return Status::Ok();
}

}  // namespace piivault::storage

#include "vault/control_store.h"

#include <boost/json.hpp>

#include "crypto/random.h"

namespace piivault::vault {
namespace {

constexpr std::string_view kEpochKey = "sys/control-epoch";
constexpr std::size_t kMaxCachedDocuments = 100000;

}  // namespace

ControlEpoch ControlStore::ReadEpoch() {
  // The stamp is taken before the read: a write between the two leaves the
  // remembered stamp behind, so the next request reads again.
  const std::optional<std::uint64_t> stamp = backend_->ChangeStamp(kEpochKey);
  if (stamp) {
    std::shared_lock lock(epoch_mu_);
    if (last_epoch_ && last_epoch_->first == *stamp) return last_epoch_->second;
  }
  // Shared with the requests that arrive while the previous read is under
  // way (a networked store answers them all with one statement); never a
  // read begun before this request, which could miss a change it must see.
  ControlEpoch epoch = epoch_reads_.Get([&]() -> ControlEpoch {
    auto read = backend_->Get(kEpochKey);
    if (!read) return {};
    return {read->value_or(""), true};
  });
  if (!epoch.valid) return epoch;
  if (stamp) {
    std::unique_lock lock(epoch_mu_);
    last_epoch_.emplace(*stamp, epoch);
  }
  return epoch;
}

bool ControlStore::Cacheable(std::string_view key) {
  return key.starts_with("identity/") || key.starts_with("tenant/") ||
         key.starts_with("purpose/") || key.starts_with("collection/");
}

Result<boost::json::value> ControlStore::Decode(std::string_view key,
                                                std::string_view sealed) const {
  auto plain = keyring_->OpenControl(sealed, key);
  if (!plain) return Err(DataLoss("control record failed its integrity check"));
  boost::system::error_code ec;
  auto doc = boost::json::parse(*plain, ec);
  if (ec) return Err(DataLoss("control record is malformed"));
  return doc;
}

Result<std::optional<boost::json::value>> ControlStore::Get(
    const RequestContext& context, std::string_view key) {
  const ControlEpoch* epoch = context.control_epoch();
  bool cacheable = epoch && epoch->valid && Cacheable(key);
  std::string name(key);
  if (cacheable) {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(name);
    if (it != cache_.end() && it->second.epoch == epoch->value)
      return std::optional<boost::json::value>(*it->second.doc);
  }
  PV_ASSIGN_OR_RETURN(auto raw, backend_->Get(key));
  if (!raw) return std::optional<boost::json::value>();
  PV_ASSIGN_OR_RETURN(auto doc, Decode(key, *raw));
  if (cacheable) {
    // Tagged with the epoch read *before* the document, so a concurrent
    // write (which changes the epoch) can only make this entry miss.
    auto shared = std::make_shared<const boost::json::value>(doc);
    std::unique_lock lock(cache_mu_);
    if (cache_.size() >= kMaxCachedDocuments) cache_.clear();
    cache_[std::move(name)] = CachedDocument{epoch->value, std::move(shared)};
  }
  return std::optional<boost::json::value>(std::move(doc));
}

Status ControlStore::Write(const RequestContext& context,
                           const storage::WriteBatch& batch) {
  PV_RETURN_IF_ERROR(backend_->Write(batch));
  // This request changed cached documents: stop trusting its epoch.
  if (ControlEpoch* epoch = context.control_epoch()) {
    for (auto& op : batch.ops())
      if (op.key == kEpochKey) epoch->valid = false;
  }
  return Status::Ok();
}

Result<ControlStore::Page> ControlStore::ScanPage(std::string_view prefix,
                                                  std::string_view after_key,
                                                  std::size_t limit) {
  // Strictly after: the least key greater than `after_key`.
  const std::string start =
      after_key.empty() ? "" : std::string(after_key) + '\0';
  PV_ASSIGN_OR_RETURN(auto rows, backend_->Scan(prefix, start, limit + 1));
  Page page;
  page.more = rows.size() > limit;
  if (page.more) rows.pop_back();
  for (auto& row : rows) {
    PV_ASSIGN_OR_RETURN(auto doc, Decode(row.key, row.value));
    page.docs.emplace_back(std::move(row.key), std::move(doc));
  }
  return page;
}

Result<std::optional<std::string>> ControlStore::GetRaw(std::string_view key) {
  return backend_->Get(key);
}

Result<std::vector<std::pair<std::string, boost::json::value>>>
ControlStore::Scan(std::string_view prefix, std::size_t limit) {
  PV_ASSIGN_OR_RETURN(auto rows, backend_->Scan(prefix, "", limit));
  std::vector<std::pair<std::string, boost::json::value>> out;
  out.reserve(rows.size());
  for (auto& row : rows) {
    PV_ASSIGN_OR_RETURN(auto doc, Decode(row.key, row.value));
    out.emplace_back(std::move(row.key), std::move(doc));
  }
  return out;
}

void ControlStore::Put(storage::WriteBatch& batch, std::string key,
                       const boost::json::value& doc) const {
  std::string sealed = keyring_->SealControl(boost::json::serialize(doc), key);
  if (Cacheable(key)) ForgetCached(batch);
  batch.Put(std::move(key), std::move(sealed));
}

void ControlStore::PutBytes(storage::WriteBatch& batch, std::string key,
                            std::string_view bytes) const {
  std::string sealed = keyring_->SealControl(bytes, key);
  batch.Put(std::move(key), std::move(sealed));
}

Result<std::optional<std::string>> ControlStore::GetBytes(
    std::string_view key) {
  PV_ASSIGN_OR_RETURN(auto raw, backend_->Get(key));
  if (!raw) return std::optional<std::string>();
  auto plain = keyring_->OpenControl(*raw, key);
  if (!plain) return Err(DataLoss("control record failed its integrity check"));
  return std::optional<std::string>(std::move(*plain));
}

void ControlStore::ForgetCached(storage::WriteBatch& batch) const {
  batch.Put(std::string(kEpochKey), crypto::RandomBytes(16));
}

Result<int> ControlStore::FinishEach(
    std::string_view prefix,
    const std::function<Status(const std::string& key,
                               const boost::json::value& doc)>& finish) {
  PV_ASSIGN_OR_RETURN(auto pending, Scan(prefix, SIZE_MAX));
  int finished = 0;
  Status first_error;
  for (auto& [key, doc] : pending) {
    Status s = finish(key, doc);
    if (s.ok()) {
      ++finished;
    } else if (first_error.ok()) {
      first_error = s;
    }
  }
  if (!first_error.ok()) return Err(first_error);
  return finished;
}

}  // namespace piivault::vault

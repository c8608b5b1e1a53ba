#include "vault/control_store.h"

#include <boost/json.hpp>

namespace piivault::vault {

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
    std::string_view key) {
  PV_ASSIGN_OR_RETURN(auto raw, backend_->Get(key));
  if (!raw) return std::optional<boost::json::value>();
  PV_ASSIGN_OR_RETURN(auto doc, Decode(key, *raw));
  return std::optional<boost::json::value>(std::move(doc));
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
  batch.Put(std::move(key), std::move(sealed));
}

}  // namespace piivault::vault

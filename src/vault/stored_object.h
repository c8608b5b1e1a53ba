// Reading stored JSON documents (control-store documents, sealed events):
// typed member access where any missing or mistyped required member marks
// the document corrupt, so every decoder reports damage the same way.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace piivault::vault {

// kDataLoss "stored <what> is malformed".
Status Corrupt(std::string_view what);

struct StoredObject {
  const boost::json::object* obj;
  bool ok = true;  // false once a required member was missing or mistyped

  std::string Str(std::string_view key);  // required
  std::string OptStr(std::string_view key);
  int64_t Int(std::string_view key);  // required
  std::optional<int64_t> OptInt(std::string_view key);
  bool Bool(std::string_view key);                         // required
  bool OptBool(std::string_view key);                      // false when absent
  std::vector<std::string> StrList(std::string_view key);  // required
};

// Corrupt(what) unless `v` is an object.
Result<StoredObject> OpenStored(const boost::json::value& v,
                                std::string_view what);

boost::json::array ToArray(const std::vector<std::string>& items);

}  // namespace piivault::vault

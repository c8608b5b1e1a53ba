#include "vault/stored_object.h"

namespace piivault::vault {

namespace json = boost::json;

Status Corrupt(std::string_view what) {
  return DataLoss("stored " + std::string(what) + " is malformed");
}

std::string StoredObject::Str(std::string_view key) {
  auto* v = obj->if_contains(key);
  if (!v || !v->is_string()) {
    ok = false;
    return {};
  }
  return std::string(v->get_string());
}

std::string StoredObject::OptStr(std::string_view key) {
  auto* v = obj->if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

int64_t StoredObject::Int(std::string_view key) {
  auto v = OptInt(key);
  if (!v) ok = false;
  return v.value_or(0);
}

std::optional<int64_t> StoredObject::OptInt(std::string_view key) {
  auto* v = obj->if_contains(key);
  if (!v || !v->is_int64()) return std::nullopt;
  return v->get_int64();
}

bool StoredObject::Bool(std::string_view key) {
  auto* v = obj->if_contains(key);
  if (!v || !v->is_bool()) {
    ok = false;
    return false;
  }
  return v->get_bool();
}

bool StoredObject::OptBool(std::string_view key) {
  auto* v = obj->if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

std::vector<std::string> StoredObject::StrList(std::string_view key) {
  std::vector<std::string> out;
  auto* v = obj->if_contains(key);
  if (!v || !v->is_array()) {
    ok = false;
    return out;
  }
  for (auto& e : v->get_array()) {
    if (!e.is_string())
      ok = false;
    else
      out.emplace_back(e.get_string());
  }
  return out;
}

Result<StoredObject> OpenStored(const json::value& v, std::string_view what) {
  if (!v.is_object()) return Err(Corrupt(what));
  return StoredObject{&v.get_object()};
}

json::array ToArray(const std::vector<std::string>& items) {
  json::array a;
  for (auto& s : items) a.emplace_back(s);
  return a;
}

}  // namespace piivault::vault

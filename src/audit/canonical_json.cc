#include "audit/canonical_json.h"

#include <algorithm>
#include <boost/json.hpp>
#include <vector>

namespace piivault::audit {
namespace {

namespace json = boost::json;

void WriteCanonical(const json::value& v, std::string& out) {
  if (!v.is_object() && !v.is_array()) {
    out += json::serialize(v);
    return;
  }
  if (v.is_array()) {
    out.push_back('[');
    bool first = true;
    for (auto& item : v.as_array()) {
      if (!first) out.push_back(',');
      first = false;
      WriteCanonical(item, out);
    }
    out.push_back(']');
    return;
  }
  std::vector<const json::key_value_pair*> members;
  for (auto& kv : v.as_object()) members.push_back(&kv);
  std::sort(members.begin(), members.end(),
            [](auto* a, auto* b) { return a->key() < b->key(); });
  out.push_back('{');
  bool first = true;
  for (auto* kv : members) {
    if (!first) out.push_back(',');
    first = false;
    out += json::serialize(json::string(kv->key()));
    out.push_back(':');
    WriteCanonical(kv->value(), out);
  }
  out.push_back('}');
}

}  // namespace

std::string CanonicalJson(const json::value& v) {
  std::string out;
  WriteCanonical(v, out);
  return out;
}

}  // namespace piivault::audit

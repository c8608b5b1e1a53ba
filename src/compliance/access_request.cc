#include "compliance/access_request.h"

#include <algorithm>

#include "vault/model.h"
#include "vault/storage_keys.h"

namespace piivault::compliance {
namespace {

// Never true for an empty list: an empty scope covers nothing.
bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& entry) {
    return entry == RequestScope::kAll || entry == s;
  });
}

Status CheckList(const std::vector<std::string>& list) {
  if (list.size() > RequestScope::kMaxEntries)
    return ValidationFailed("scope", "at most 100 entries each");
  if (list.size() > 1 &&
      std::find(list.begin(), list.end(), RequestScope::kAll) != list.end())
    return ValidationFailed("scope", "\"*\" stands alone in a list");
  return Status::Ok();
}

}  // namespace

bool RequestScope::Covers(std::string_view collection) const {
  return Contains(collections, collection);
}
bool RequestScope::CoversPrincipal(std::string_view principal) const {
  return Contains(principals, principal);
}

Status ValidateScope(const vault::RequestContext& context,
                     vault::ControlStore& control, std::string_view tenant,
                     const RequestScope& scope) {
  PV_RETURN_IF_ERROR(CheckList(scope.collections));
  PV_RETURN_IF_ERROR(CheckList(scope.principals));
  for (auto& c : scope.collections) {
    if (c == RequestScope::kAll) continue;
    if (!vault::ValidateName("collection", c).ok())
      return ValidationFailed("scope", "names an unknown collection");
    PV_ASSIGN_OR_RETURN(
        auto doc, control.Get(context, vault::keys::Collection(tenant, c)));
    if (!doc) return ValidationFailed("scope", "names an unknown collection");
  }
  for (auto& p : scope.principals)
    if (p != RequestScope::kAll && !vault::ValidatePrincipalId(p).ok())
      return ValidationFailed("scope", "names a malformed principal id");
  return Status::Ok();
}

Status RequireIndependent(std::string_view requested_by,
                          std::string_view decided_by) {
  if (requested_by == decided_by)
    return PermissionDenied(
        "a request is decided by another identity than the one that made it");
  return Status::Ok();
}

}  // namespace piivault::compliance

// Access policies of tenant-app identities: default deny; a request is
// allowed when a rule names its purpose, collection and action. Rules also
// say which fields are visible and whether they come back plain or masked
// (policy/masks.h). Plain takes an explicit "transform":"plain": a rule
// without a transform masks, and a rule without "fields" covers them all.
//
//   {"rules":[{"purposes":["service_delivery"],"collections":["users"|"*"],
//              "fields":["email"|"*"],"actions":["read","search"],
//              "transform":"plain"|"mask"}]}
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace piivault::policy {

enum class Action {
  kRead,
  kWrite,
  kDelete,
  kSearch,
  kTokenize,
  kDetokenize,
  kExport,
  // The consent ledger: rules name the consents' purposes; their collections
  // and fields play no part (and may be left out).
  kConsentRead,
  kConsentWrite,
};
bool IsConsentAction(Action action);
std::optional<Action> ParseAction(std::string_view name);

enum class Transform { kPlain, kMask };

struct Rule {
  std::vector<std::string> purposes;
  std::vector<std::string> collections;  // "*" matches all
  std::vector<std::string> fields;       // "*" matches all
  std::vector<Action> actions;
  Transform transform = Transform::kMask;
};

class AccessPolicy {
 public:
  // kInvalidArgument with a message naming the bad member.
  static Result<AccessPolicy> Parse(const boost::json::value& doc);
  static AccessPolicy DenyAll() { return AccessPolicy(); }

  // The field visibility for a request, or nullopt when no rule allows it.
  // A field absent from the map is not visible. `all_fields` is the
  // collection's schema field names.
  struct Grant {
    std::map<std::string, Transform> fields;
  };
  std::optional<Grant> Evaluate(
      Action action, std::string_view purpose, std::string_view collection,
      const std::vector<std::string>& all_fields) const;

  // Whether some rule allows `action` under `purpose`, whatever the
  // collection: the first check of default deny, before anything is read.
  bool Allows(Action action, std::string_view purpose) const;
  // Whether some rule allows `action` at all.
  bool AllowsAnyPurpose(Action action) const;

 private:
  std::vector<Rule> rules_;
};

}  // namespace piivault::policy

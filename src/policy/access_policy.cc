#include "policy/access_policy.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>

namespace piivault::policy {
namespace {

constexpr std::array<std::pair<Action, std::string_view>, 9> kActions{{
    {Action::kRead, "read"},
    {Action::kWrite, "write"},
    {Action::kDelete, "delete"},
    {Action::kSearch, "search"},
    {Action::kTokenize, "tokenize"},
    {Action::kDetokenize, "detokenize"},
    {Action::kExport, "export"},
    {Action::kConsentRead, "consent_read"},
    {Action::kConsentWrite, "consent_write"},
}};

bool Matches(const std::vector<std::string>& list, std::string_view value) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& s) {
    return s == "*" || s == value;
  });
}

Result<std::vector<std::string>> StringList(const boost::json::object& rule,
                                            std::string_view key) {
  auto bad = [&] {
    return InvalidArgument("policy rule member '" + std::string(key) +
                           "' must be a non-empty array of strings");
  };
  auto* v = rule.if_contains(key);
  if (!v || !v->is_array() || v->get_array().empty()) return Err(bad());
  std::vector<std::string> out;
  for (auto& e : v->get_array()) {
    if (!e.is_string()) return Err(bad());
    out.emplace_back(e.get_string());
  }
  return out;
}

}  // namespace

bool IsConsentAction(Action action) {
  return action == Action::kConsentRead || action == Action::kConsentWrite;
}

std::optional<Action> ParseAction(std::string_view name) {
  for (auto& [a, n] : kActions)
    if (n == name) return a;
  return std::nullopt;
}

Result<AccessPolicy> AccessPolicy::Parse(const boost::json::value& doc) {
  AccessPolicy policy;
  if (doc.is_null()) return policy;
  auto* rules =
      doc.is_object() ? doc.get_object().if_contains("rules") : nullptr;
  if (!rules || !rules->is_array())
    return Err(
        InvalidArgument("policy must be an object with a 'rules' array"));
  if (rules->get_array().size() > 256)
    return Err(InvalidArgument("policy has more than 256 rules"));
  for (auto& rv : rules->get_array()) {
    if (!rv.is_object())
      return Err(InvalidArgument("each policy rule must be an object"));
    auto& obj = rv.get_object();
    for (auto& [k, v] : obj) {
      static constexpr std::array<std::string_view, 5> kKnown{
          "purposes", "collections", "fields", "actions", "transform"};
      if (std::find(kKnown.begin(), kKnown.end(), k) == kKnown.end())
        return Err(InvalidArgument("unknown policy rule member '" +
                                   std::string(k) + "'"));
    }
    Rule rule;
    PV_ASSIGN_OR_RETURN(rule.purposes, StringList(obj, "purposes"));
    PV_ASSIGN_OR_RETURN(auto actions, StringList(obj, "actions"));
    for (auto& a : actions) {
      auto action = ParseAction(a);
      if (!action)
        return Err(InvalidArgument("unknown policy action '" + a + "'"));
      rule.actions.push_back(*action);
    }
    // Collections matter to every action but the consent ones.
    if (obj.contains("collections") ||
        !std::all_of(rule.actions.begin(), rule.actions.end(),
                     IsConsentAction)) {
      PV_ASSIGN_OR_RETURN(rule.collections, StringList(obj, "collections"));
    } else {
      rule.collections = {"*"};
    }
    if (obj.contains("fields")) {
      PV_ASSIGN_OR_RETURN(rule.fields, StringList(obj, "fields"));
    } else {
      rule.fields = {"*"};
    }
    if (auto* t = obj.if_contains("transform")) {
      if (*t == "plain")
        rule.transform = Transform::kPlain;
      else if (*t == "mask")
        rule.transform = Transform::kMask;
      else
        return Err(
            InvalidArgument("policy transform must be 'plain' or 'mask'"));
    }
    policy.rules_.push_back(std::move(rule));
  }
  return policy;
}

std::optional<AccessPolicy::Grant> AccessPolicy::Evaluate(
    Action action, std::string_view purpose, std::string_view collection,
    const std::vector<std::string>& all_fields) const {
  std::optional<Grant> grant;
  for (auto& rule : rules_) {
    if (std::find(rule.actions.begin(), rule.actions.end(), action) ==
            rule.actions.end() ||
        !Matches(rule.purposes, purpose) ||
        !Matches(rule.collections, collection))
      continue;
    if (!grant) grant.emplace();
    for (auto& f : all_fields) {
      if (!Matches(rule.fields, f)) continue;
      // Plain wins over mask when two rules cover the same field.
      auto [it, inserted] = grant->fields.emplace(f, rule.transform);
      if (!inserted && rule.transform == Transform::kPlain)
        it->second = Transform::kPlain;
    }
  }
  return grant;
}

bool AccessPolicy::Allows(Action action, std::string_view purpose) const {
  return std::any_of(rules_.begin(), rules_.end(), [&](const Rule& rule) {
    return std::find(rule.actions.begin(), rule.actions.end(), action) !=
               rule.actions.end() &&
           Matches(rule.purposes, purpose);
  });
}

bool AccessPolicy::AllowsAnyPurpose(Action action) const {
  return std::any_of(rules_.begin(), rules_.end(), [&](const Rule& rule) {
    return std::find(rule.actions.begin(), rule.actions.end(), action) !=
           rule.actions.end();
  });
}

}  // namespace piivault::policy

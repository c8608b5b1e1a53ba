// Audit endpoints: events, signed heads, RFC 6962 proofs and exports of a
// tenant's log (tenant-admin of the tenant, auditor) and of the operator log
// (operator-admin, auditor); the deployment's public key for anyone
// authenticated.
#include "api/handler_support.h"
#include "base/encoding.h"

namespace piivault::api {
namespace {

using policy::Operation;

constexpr std::size_t kMaxPage = 1000, kDefaultPage = 100;
constexpr std::size_t kMaxScan = 10000;  // entries read per request, at most
// Entries in one page of an export (default and most): a few MiB, 16 tiles.
constexpr std::size_t kExportPage = 4096;

// Which log a request is about, after checking the caller may read it.
Result<std::string> LogFor(Call& call, bool tenant_log) {
  if (!tenant_log) return std::string(audit::AuditLog::kOperatorLog);
  return audit::AuditLog::TenantLog(call.decision.tenant().id);
}

// Whether `e` names the principal `pseudonym` among its subjects.
bool Names(const audit::Event& e, std::string_view pseudonym) {
  return e.principal_pseudonym == pseudonym ||
         std::find(e.principal_pseudonyms.begin(), e.principal_pseudonyms.end(),
                   pseudonym) != e.principal_pseudonyms.end();
}

// The entry's members, with the time in RFC 3339 as everywhere in the API.
json::value EventJson(const audit::Event& e) {
  json::object o = audit::EntryObject(e);
  o["at"] = TimeJson(e.at);
  // Every subject as a list, also for entries written before the lists
  // were (which name at most one, in the singular member).
  auto list = [&](const char* many, const std::string& one) {
    if (!o.contains(many))
      o[many] = one.empty() ? json::array() : json::array{json::value(one)};
  };
  list("records", e.record);
  list("principal_pseudonyms", e.principal_pseudonym);
  return o;
}

json::array HashesJson(const std::vector<audit::Hash>& hashes) {
  json::array out;
  for (auto& h : hashes) out.emplace_back(audit::ToHex(h));
  return out;
}

Result<Reply> Events(Call& call, bool tenant_log) {
  PV_ASSIGN_OR_RETURN(auto log, LogFor(call, tenant_log));
  PV_ASSIGN_OR_RETURN(uint64_t from, UintParam(call, "from", 0));
  PV_ASSIGN_OR_RETURN(std::size_t limit,
                      PageLimit(call, kMaxPage, kDefaultPage));
  // Filters: action, purpose, outcome, a principal (by id, turned into its
  // pseudonym here, or by pseudonym), and a time window.
  std::string action = QueryParam(call.request, "action");
  std::string purpose = QueryParam(call.request, "purpose");
  std::optional<audit::Outcome> outcome;
  if (std::string text = QueryParam(call.request, "outcome"); !text.empty()) {
    outcome = audit::ParseOutcome(text);
    // The input is not echoed: it is arbitrary text.
    if (!outcome)
      return Err(InvalidArgument("outcome must be ok, denied or error"));
  }
  std::string pseudonym = QueryParam(call.request, "principal_pseudonym");
  if (std::string principal = QueryParam(call.request, "principal");
      !principal.empty()) {
    if (!tenant_log)
      return Err(InvalidArgument("principal applies to tenant logs only"));
    PV_ASSIGN_OR_RETURN(pseudonym, call.vault.records.Pseudonym(
                                       call.decision.tenant(), principal));
  }
  std::optional<TimePoint> since, until;
  for (auto [name, slot] : {std::pair{"since", &since}, {"until", &until}}) {
    std::string text = QueryParam(call.request, name);
    if (text.empty()) continue;
    *slot = ParseRfc3339(text);
    if (!*slot)
      return Err(
          InvalidArgument(std::string(name) + " must be an RFC 3339 time"));
  }

  // Events removed by retention are gone: start after them.
  PV_ASSIGN_OR_RETURN(uint64_t pruned, call.audit.PrunedBefore(log));
  from = std::max(from, pruned);
  json::array events;
  uint64_t next = from;
  PV_ASSIGN_OR_RETURN(uint64_t size, call.audit.Size(log));
  while (next < size && events.size() < limit && next - from < kMaxScan) {
    PV_ASSIGN_OR_RETURN(
        auto page,
        call.audit.Read(log, next, std::min<uint64_t>(kMaxPage, size - next)));
    if (page.empty()) break;
    for (auto& e : page) {
      next = e.seq + 1;
      bool match = (action.empty() || e.action == action) &&
                   (purpose.empty() || e.purpose == purpose) &&
                   (!outcome || e.outcome == *outcome) &&
                   (pseudonym.empty() || Names(e, pseudonym)) &&
                   (!since || e.at >= *since) && (!until || e.at < *until);
      if (match) events.push_back(EventJson(e));
      if (events.size() >= limit) break;
    }
  }
  return Reply{200, json::object{{"events", std::move(events)},
                                 {"next", next < size ? json::value(next)
                                                      : json::value()}}};
}

Result<Reply> Head(Call& call, bool tenant_log) {
  PV_ASSIGN_OR_RETURN(auto log, LogFor(call, tenant_log));
  PV_ASSIGN_OR_RETURN(auto head, call.audit.Head(log));
  return Reply{200, json::parse(head.ToJson())};
}

Result<Reply> Inclusion(Call& call, bool tenant_log) {
  PV_ASSIGN_OR_RETURN(auto log, LogFor(call, tenant_log));
  PV_ASSIGN_OR_RETURN(uint64_t index, UintParam(call, "index"));
  PV_ASSIGN_OR_RETURN(uint64_t size, UintParam(call, "tree_size"));
  PV_ASSIGN_OR_RETURN(auto proof, call.audit.ProveInclusion(log, index, size));
  return Reply{200, json::object{{"leaf_hash", audit::ToHex(proof.leaf_hash)},
                                 {"path", HashesJson(proof.path)}}};
}

Result<Reply> Consistency(Call& call, bool tenant_log) {
  PV_ASSIGN_OR_RETURN(auto log, LogFor(call, tenant_log));
  PV_ASSIGN_OR_RETURN(uint64_t first, UintParam(call, "first"));
  PV_ASSIGN_OR_RETURN(uint64_t second, UintParam(call, "second"));
  PV_ASSIGN_OR_RETURN(auto proof,
                      call.audit.ProveConsistency(log, first, second));
  return Reply{200, json::object{{"path", HashesJson(proof)}}};
}

// The log with a signed head, for `piivault audit verify`, a page of at most
// kExportPage entries at a time (so no request reads or holds the whole
// log): ?from=&limit=, and "next" names where the following page starts
// (null after the last). `piivault audit export` joins the pages.
Result<Reply> Export(Call& call, bool tenant_log) {
  PV_ASSIGN_OR_RETURN(auto log, LogFor(call, tenant_log));
  PV_ASSIGN_OR_RETURN(uint64_t from, UintParam(call, "from", 0));
  PV_ASSIGN_OR_RETURN(std::size_t limit, PageLimit(call, kExportPage));
  PV_ASSIGN_OR_RETURN(auto page, call.audit.Export(log, from, limit));
  const uint64_t end = page.from + page.entries.size();
  json::value out = json::parse(page.ToJson());
  out.as_object()["next"] =
      end < page.head.tree_size ? json::value(end) : json::value();
  return Reply{200, std::move(out)};
}

Result<Reply> PublicKey(Call& call) {
  const crypto::Ed25519Key& key = call.audit.signer();
  return Reply{200,
               json::object{{"algorithm", "ed25519"},
                            {"key_id", key.key_id()},
                            {"public_key", Base64Encode(key.public_key())}}};
}

}  // namespace

void AddAuditRoutes(const RouteAdder& add) {
  add("GET", "/v1/audit/public-key", "audit.public_key",
      Operation::kReadPublicKey, PublicKey);
  for (bool tenant : {true, false}) {
    std::string base = tenant ? "/v1/tenants/{t}/audit" : "/v1/operator/audit";
    std::string name = tenant ? "audit.tenant." : "audit.operator.";
    Operation op =
        tenant ? Operation::kReadTenantAudit : Operation::kReadOperatorAudit;
    auto bind = [tenant](Result<Reply> (*fn)(Call&, bool)) {
      return [fn, tenant](Call& call) { return fn(call, tenant); };
    };
    add("GET", base + "/events", name + "events", op, bind(Events));
    add("GET", base + "/head", name + "head", op, bind(Head));
    add("GET", base + "/proof/inclusion", name + "inclusion", op,
        bind(Inclusion));
    add("GET", base + "/proof/consistency", name + "consistency", op,
        bind(Consistency));
    add("GET", base + "/export", name + "export", op, bind(Export));
  }
}

}  // namespace piivault::api

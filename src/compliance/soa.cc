#include "compliance/soa.h"

#include <algorithm>
#include <boost/json.hpp>

#include "base/enum_names.h"
#include "base/http_url.h"
#include "vault/stored_object.h"

namespace piivault::compliance {

namespace json = boost::json;

namespace {

constexpr EnumNames<SoaStatus, 5> kStatuses{{{
    {SoaStatus::kImplemented, "implemented"},
    {SoaStatus::kPartiallyImplemented, "partially_implemented"},
    {SoaStatus::kOrganizational, "organizational"},
    {SoaStatus::kNotApplicable, "not_applicable"},
    {SoaStatus::kNonconformity, "nonconformity"},
}}};

json::value Time(TimePoint t) { return json::value(FormatRfc3339(t)); }
json::value OptTime(const std::optional<TimePoint>& t) {
  return t ? Time(*t) : json::value();
}

// What one control's evidence and checks come to, before its status.
struct Finding {
  json::object evidence;
  std::vector<std::string> reasons;  // failing checks
};

Finding Regions(const SoaInputs& in) {
  json::array regions;
  for (auto& r : in.regions)
    regions.push_back(json::object{
        {"id", r.id},
        {"countries", vault::ToArray(r.countries)},
        {"tenants", r.tenants},
        {"principals", r.principals},
        {"records", r.records ? json::value(*r.records) : json::value()}});
  return {json::object{{"regions", std::move(regions)}}, {}};
}

Finding Listeners(const SoaInputs& in) {
  Finding f;
  json::array listeners;
  for (auto& l : in.listeners) {
    listeners.push_back(json::object{{"name", l.name},
                                     {"host", l.host},
                                     {"port", l.port},
                                     {"tls", l.tls},
                                     {"loopback", IsLoopbackHost(l.host)},
                                     {"min_tls_version", l.min_tls_version}});
    if (!l.tls && !IsLoopbackHost(l.host))
      f.reasons.push_back("listener " + l.name +
                          " accepts plain HTTP off loopback");
    else if (l.tls && l.min_tls_version != "TLSv1.2" &&
             l.min_tls_version != "TLSv1.3")
      f.reasons.push_back("listener " + l.name + " allows TLS below 1.2");
  }
  f.evidence["listeners"] = std::move(listeners);
  f.evidence["webhooks"] = "https only, loopback excepted";
  return f;
}

Finding Identities(const SoaInputs& in) {
  json::object by_role;
  for (auto& [role, n] : in.identities.active_by_role) by_role[role] = n;
  json::object o{{"active_by_role", std::move(by_role)},
                 {"deactivated", in.identities.deactivated}};
  if (auto oldest = in.identities.oldest_active_created) {
    o["oldest_active_created_at"] = Time(*oldest);
    o["oldest_active_key_max_age_days"] =
        std::chrono::duration_cast<std::chrono::days>(in.now - *oldest).count();
  }
  return {std::move(o), {}};
}

Finding Disclosures(const SoaInputs& in) {
  json::object by_state;
  for (auto& [state, n] : in.disclosures_by_state) by_state[state] = n;
  return {json::object{{"disclosures_by_state", std::move(by_state)}}, {}};
}

json::value Certificate(const std::optional<CertificateEvidence>& c) {
  if (!c) return nullptr;
  return json::object{
      {"tenant", c->tenant}, {"id", c->id}, {"issued_at", Time(c->issued_at)}};
}

Finding Certificates(const SoaInputs& in) {
  return {json::object{
              {"latest_erasure_certificate", Certificate(in.latest_erasure)},
              {"latest_disposal_certificate", Certificate(in.latest_disposal)}},
          {}};
}

Finding AuditLogs(const SoaInputs& in) {
  Finding f;
  json::array logs;
  for (auto& l : in.audit_logs) {
    json::object o{{"log", l.log},
                   {"tree_size", l.tree_size},
                   {"root_hash", l.root_hash},
                   {"signed_at", OptTime(l.head_at)},
                   {"verifies", l.verifies}};
    if (!l.verifies) {
      o["problem"] = l.problem;
      f.reasons.push_back("audit log " + l.log + " does not verify");
    }
    logs.push_back(std::move(o));
  }
  f.evidence["audit_logs"] = std::move(logs);
  return f;
}

Finding SubProcessors(const SoaInputs& in) {
  json::array in_force, pending;
  for (auto& s : in.sub_processors) {
    if (s.removed_at) continue;
    json::object o{{"id", s.id},
                   {"name", s.name},
                   {"service", s.service},
                   {"countries", vault::ToArray(s.countries)},
                   {"regions", vault::ToArray(s.regions)},
                   {"contract_reference", s.contract_reference},
                   {"effective_at", Time(s.effective_at)}};
    (s.effective_at > in.now ? pending : in_force).push_back(std::move(o));
  }
  return {json::object{{"in_force", std::move(in_force)},
                       {"pending_notices", std::move(pending)}},
          {}};
}

Finding Incidents(const SoaInputs& in, bool breaches_only) {
  Finding f;
  int open = 0, overdue = 0;
  json::array overdue_notices;
  for (auto& i : in.incidents) {
    if (breaches_only && !i.pii_breach) continue;
    if (i.state == IncidentState::kOpen) ++open;
    for (auto& n : i.notices) {
      if (!n.OverdueAt(in.now)) continue;
      ++overdue;
      overdue_notices.push_back(json::object{{"incident", i.id},
                                             {"tenant", n.tenant},
                                             {"deadline", Time(n.deadline)}});
      if (breaches_only)
        f.reasons.push_back("breach notice of " + i.id + " to tenant " +
                            n.tenant + " is overdue");
    }
  }
  f.evidence = json::object{{"open_incidents", open},
                            {"overdue_notices", std::move(overdue_notices)},
                            {"overdue_count", overdue}};
  return f;
}

Finding ExternalReview(const SoaInputs& in) {
  Finding f;
  auto due = NextAuditDue(in.audits);
  f.evidence = json::object{{"audits", static_cast<int64_t>(in.audits.size())},
                            {"next_audit_due", OptTime(due)}};
  if (!due)
    f.reasons.push_back("no external audit recorded");
  else if (in.now > *due)
    f.reasons.push_back("the last external audit is more than a year old");
  return f;
}

Finding Organizational(const SoaInputs& in, const Control& c) {
  const Declaration* newest = nullptr;
  for (auto& d : in.declarations)  // oldest first
    if (d.control == c.id) newest = &d;
  if (!newest) return {json::object{{"declaration", nullptr}}, {}};
  return {json::object{{"declaration", DeclarationJson(*newest)}}, {}};
}

// The live evidence of a code control; none for those whose evidence is
// the code and its tests alone.
Finding Evidence(const SoaInputs& in, const Control& c) {
  const std::string_view id = c.id;
  if (id == "A.12.1") return Regions(in);
  if (id == "A.11.6") return Listeners(in);
  if (id == "A.11.9" || id == "9.2.1") return Identities(in);
  if (id == "A.6.1" || id == "A.6.2") return Disclosures(in);
  if (id == "A.10.3") return Certificates(in);
  if (id == "12.4.2") return AuditLogs(in);
  if (id == "A.8.1" || id == "A.11.12") return SubProcessors(in);
  if (id == "A.10.1") return Incidents(in, /*breaches_only=*/true);
  if (id == "16.1.1") return Incidents(in, /*breaches_only=*/false);
  if (id == "18.2.1") return ExternalReview(in);
  return {};
}

}  // namespace

std::string_view SoaStatusName(SoaStatus status) {
  return kStatuses.Name(status);
}
std::optional<SoaStatus> ParseSoaStatus(std::string_view name) {
  return kStatuses.Parse(name);
}

std::vector<SoaEntry> BuildSoa(const SoaInputs& in) {
  std::vector<SoaEntry> out;
  for (const Control& c : Controls()) {
    Finding f;
    SoaStatus status = SoaStatus::kImplemented;
    switch (c.kind) {
      case ControlKind::kNotApplicable:
        status = SoaStatus::kNotApplicable;
        break;
      case ControlKind::kOrganizational:
        f = Organizational(in, c);
        status = SoaStatus::kOrganizational;
        break;
      case ControlKind::kCode:
        f = Evidence(in, c);
        break;
    }
    if (!f.reasons.empty()) status = SoaStatus::kNonconformity;
    out.push_back({&c, status, std::move(f.reasons), std::move(f.evidence)});
  }
  return out;
}

json::object SoaDocument(const SoaInputs& in,
                         const std::vector<SoaEntry>& entries) {
  json::array controls, nonconformities;
  for (auto& e : entries) {
    json::object o{{"id", e.control->id},
                   {"id_2014", e.control->id_2014},
                   {"title", e.control->title},
                   {"applicable", e.control->applicable()},
                   {"status", SoaStatusName(e.status)},
                   {"implementation", e.control->implementation},
                   {"evidence", e.evidence}};
    if (!e.reasons.empty()) {
      o["reasons"] = vault::ToArray(e.reasons);
      nonconformities.push_back(json::object{
          {"control", e.control->id}, {"reasons", vault::ToArray(e.reasons)}});
    }
    controls.push_back(std::move(o));
  }
  json::array services, declarations, audits;
  for (auto& s : in.services)
    services.push_back(json::object{{"name", s.name},
                                    {"description", s.description},
                                    {"regions", vault::ToArray(s.regions)}});
  for (auto& d : in.declarations) declarations.push_back(DeclarationJson(d));
  for (auto& a : in.audits) audits.push_back(ExternalAuditJson(a));
  return json::object{
      {"standard", "ISO/IEC 27018:2019"},
      {"generated_at", Time(in.now)},
      {"controls", std::move(controls)},
      {"in_scope_services", std::move(services)},
      {"declarations", std::move(declarations)},
      {"audits",
       json::object{{"audits", std::move(audits)},
                    {"next_audit_due", OptTime(NextAuditDue(in.audits))}}},
      {"nonconformities", std::move(nonconformities)}};
}

}  // namespace piivault::compliance

#include "services/compliance_evidence.h"

#include <algorithm>
#include <boost/json.hpp>

#include "audit/verify.h"
#include "base/encoding.h"
#include "vault/storage_keys.h"
#include "vault/tenants.h"

namespace piivault::services {
namespace {

using compliance::CertificateEvidence;

Status AddRegions(Vault& vault, const std::vector<vault::Tenant>& tenants,
                  compliance::SoaInputs& in) {
  for (auto& r : vault.router->regions()) {
    compliance::RegionEvidence e;
    e.id = r.id;
    e.countries = r.countries;
    e.records = 0;
    in.regions.push_back(std::move(e));
  }
  auto find = [&](std::string_view id) {
    return std::ranges::find(in.regions, id, &compliance::RegionEvidence::id);
  };
  for (auto& t : tenants) {
    if (t.state == vault::TenantState::kDisposed) continue;
    PV_ASSIGN_OR_RETURN(auto locations, vault.tenants.Locations(t));
    for (auto& l : locations) {
      auto r = find(l.region.id);
      if (r == in.regions.end()) continue;
      ++r->tenants;
      r->principals += l.principals;
      if (!l.records)
        r->records.reset();  // unreachable now: no count to show
      else if (r->records)
        *r->records += *l.records;
    }
  }
  return Status::Ok();
}

Status AddIdentities(const vault::RequestContext& context, Vault& vault,
                     const std::vector<vault::Tenant>& tenants,
                     compliance::SoaInputs& in) {
  PV_ASSIGN_OR_RETURN(auto all, vault.identities.ListOperators(context));
  for (auto& t : tenants) {
    PV_ASSIGN_OR_RETURN(auto of_tenant,
                        vault.identities.ListTenant(context, t.id));
    std::ranges::move(of_tenant, std::back_inserter(all));
  }
  auto& ids = in.identities;
  for (auto& i : all) {
    if (i.deactivated_at) {
      ++ids.deactivated;
      continue;
    }
    ++ids.active_by_role[std::string(vault::RoleName(i.role))];
    if (!ids.oldest_active_created || i.created_at < *ids.oldest_active_created)
      ids.oldest_active_created = i.created_at;
  }
  return Status::Ok();
}

Status AddCertificates(Vault& vault, const std::vector<vault::Tenant>& tenants,
                       compliance::SoaInputs& in) {
  auto newer = [](std::optional<CertificateEvidence>& slot,
                  CertificateEvidence c) {
    if (!slot || c.issued_at > slot->issued_at) slot = std::move(c);
  };
  for (auto& t : tenants) {
    PV_ASSIGN_OR_RETURN(auto disposal, vault.disposals.Certificate(t.id));
    if (disposal)
      newer(in.latest_disposal,
            {disposal->tenant, disposal->id, disposal->completed_at});
    if (t.state == vault::TenantState::kDisposed) continue;
    PV_ASSIGN_OR_RETURN(auto erasures, vault.erasures.Certificates(t.id));
    for (auto& c : erasures)
      newer(in.latest_erasure, {c.tenant, c.id, c.completed_at});
  }
  return Status::Ok();
}

// The log's newest signed head, and whether its entries are, now, exactly
// the tree that head signs (a tampered, missing or reordered entry fails).
Result<compliance::AuditLogEvidence> CheckLog(audit::AuditLog& audit,
                                              std::string log) {
  compliance::AuditLogEvidence e;
  e.log = std::move(log);
  PV_ASSIGN_OR_RETURN(auto head, audit.Head(e.log));
  e.tree_size = head.tree_size;
  e.root_hash = HexEncode(std::string_view(
      reinterpret_cast<const char*>(head.root.data()), head.root.size()));
  e.head_at = FromUnixMicros(head.timestamp * 1'000'000);
  auto exported = audit.Export(e.log);
  if (!exported) {
    if (exported.error().code() != StatusCode::kDataLoss)
      return Err(exported.error());
    e.problem = "an entry fails its integrity check";
    return e;
  }
  audit::Verdict verdict =
      audit::VerifyExport(*exported, audit.signer().public_key(), std::nullopt);
  e.verifies = verdict.ok;
  e.problem = verdict.problem;
  return e;
}

Status AddAuditLogs(audit::AuditLog& audit,
                    const std::vector<vault::Tenant>& tenants,
                    compliance::SoaInputs& in) {
  PV_ASSIGN_OR_RETURN(
      auto op, CheckLog(audit, std::string(audit::AuditLog::kOperatorLog)));
  in.audit_logs.push_back(std::move(op));
  for (auto& t : tenants) {
    PV_ASSIGN_OR_RETURN(auto e,
                        CheckLog(audit, audit::AuditLog::TenantLog(t.id)));
    in.audit_logs.push_back(std::move(e));
  }
  return Status::Ok();
}

Status AddIncidents(Vault& vault, compliance::SoaInputs& in) {
  std::string after;
  while (true) {
    PV_ASSIGN_OR_RETURN(auto page, vault.incidents.List(after, 1000));
    std::ranges::move(page.incidents, std::back_inserter(in.incidents));
    if (!page.next) return Status::Ok();
    after = *page.next;
  }
}

// What the deployment processes PII with, in every configured region.
std::vector<compliance::InScopeService> InScopeServices(Vault& vault) {
  std::vector<std::string> regions;
  for (auto& r : vault.router->regions()) regions.push_back(r.id);
  const std::pair<const char*, const char*> kServices[] = {
      {"records", "storage, search and update of tenants' records"},
      {"tokens", "tokenization and detokenization of record fields"},
      {"consents", "the principals' consent ledgers"},
      {"principal export", "a principal's records for access and portability"},
      {"erasure", "erasure of a principal with a signed certificate"},
      {"tenant export", "a tenant's data returned, encrypted and signed"},
      {"disposal", "crypto-shredding of a terminated tenant"},
      {"relocation", "moving a principal between the tenant's regions"},
      {"disclosure", "legally binding disclosure requests"},
      {"audit logs", "tamper-evident logs of every access, per tenant"},
  };
  std::vector<compliance::InScopeService> out;
  for (auto& [name, description] : kServices)
    out.push_back({name, description, regions});
  return out;
}

}  // namespace

Result<compliance::SoaInputs> GatherSoaInputs(
    const vault::RequestContext& context, Vault& vault,
    audit::AuditLog& audit) {
  compliance::SoaInputs in;
  in.now = vault.clock->Now();
  in.listeners = vault.listeners;
  PV_ASSIGN_OR_RETURN(auto tenants, vault::ListTenants(vault.control));
  PV_RETURN_IF_ERROR(AddRegions(vault, tenants, in));
  PV_RETURN_IF_ERROR(AddIdentities(context, vault, tenants, in));
  PV_ASSIGN_OR_RETURN(auto disclosures, vault.disclosures.List());
  for (auto& d : disclosures)
    ++in.disclosures_by_state[std::string(
        compliance::DisclosureStateName(d.state))];
  PV_RETURN_IF_ERROR(AddCertificates(vault, tenants, in));
  PV_RETURN_IF_ERROR(AddAuditLogs(audit, tenants, in));
  PV_ASSIGN_OR_RETURN(in.sub_processors, vault.sub_processors.List());
  PV_RETURN_IF_ERROR(AddIncidents(vault, in));
  PV_ASSIGN_OR_RETURN(in.declarations, vault.declarations.List());
  PV_ASSIGN_OR_RETURN(in.audits, vault.external_audits.List());
  in.services = InScopeServices(vault);
  return in;
}

Result<boost::json::object> SoaJson(const vault::RequestContext& context,
                                    Vault& vault, audit::AuditLog& audit) {
  PV_ASSIGN_OR_RETURN(auto in, GatherSoaInputs(context, vault, audit));
  return compliance::SoaDocument(in, compliance::BuildSoa(in));
}

}  // namespace piivault::services

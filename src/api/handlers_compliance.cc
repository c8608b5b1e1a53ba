// The compliance evidence (compliance/soa.h): the live Statement of
// Applicability, the operator's declarations about organizational controls
// and the register of external audits. Operator identities and auditors
// read them (they hold no PII); operator-admin records declarations and
// audits.
#include "api/handler_support.h"
#include "compliance/report.h"
#include "services/compliance_evidence.h"

namespace piivault::api {
namespace {

using policy::Operation;

Result<Reply> ReadSoa(Call& call) {
  PV_ASSIGN_OR_RETURN(auto soa,
                      services::SoaJson(call.context, call.vault, call.audit));
  return Reply{200, std::move(soa)};
}

// ?format=html (default): the SoA as one printable page; ?format=json: the
// SoA signed with the deployment key, which verifies offline
// (compliance/report.h).
Result<Reply> ReadReport(Call& call) {
  const std::string format = QueryParam(call.request, "format");
  if (!format.empty() && format != "html" && format != "json")
    return Err(InvalidArgument("format is html or json"));
  PV_ASSIGN_OR_RETURN(auto soa,
                      services::SoaJson(call.context, call.vault, call.audit));
  if (format == "json")
    return Reply{200, compliance::SignReport(soa, call.audit.signer())};
  Reply reply;
  reply.content_type = "text/html; charset=utf-8";
  reply.text = compliance::RenderReportHtml(soa);
  return reply;
}

// {"control","text"}: the operator's declaration about an organizational
// control, recorded with the caller and the time.
Result<Reply> RecordDeclaration(Call& call) {
  PV_ASSIGN_OR_RETURN(auto body,
                      ParseObject(call.request, {"control", "text"}));
  PV_ASSIGN_OR_RETURN(auto control, RequiredString(body, "control"));
  PV_ASSIGN_OR_RETURN(auto text, RequiredString(body, "text"));
  PV_ASSIGN_OR_RETURN(auto declaration, call.vault.declarations.Record(
                                            call.context, std::move(control),
                                            std::move(text), call.identity.id));
  return Reply{201, compliance::DeclarationJson(declaration)};
}

Result<Reply> ListDeclarations(Call& call) {
  PV_ASSIGN_OR_RETURN(auto declarations, call.vault.declarations.List());
  json::array out;
  for (auto& d : declarations) out.push_back(compliance::DeclarationJson(d));
  return Reply{200, json::object{{"declarations", std::move(out)}}};
}

Result<Reply> RecordExternalAudit(Call& call) {
  PV_ASSIGN_OR_RETURN(
      auto body,
      ParseObject(call.request,
                  {"standard", "body", "scope", "period_start", "period_end",
                   "issued_at", "expires_at", "report_sha256"}));
  compliance::ExternalAudit a;
  PV_ASSIGN_OR_RETURN(a.standard, RequiredString(body, "standard"));
  PV_ASSIGN_OR_RETURN(a.body, RequiredString(body, "body"));
  PV_ASSIGN_OR_RETURN(a.scope, RequiredString(body, "scope"));
  PV_ASSIGN_OR_RETURN(a.period_start, RequiredTime(body, "period_start"));
  PV_ASSIGN_OR_RETURN(a.period_end, RequiredTime(body, "period_end"));
  PV_ASSIGN_OR_RETURN(a.issued_at, RequiredTime(body, "issued_at"));
  PV_ASSIGN_OR_RETURN(a.expires_at, RequiredTime(body, "expires_at"));
  PV_ASSIGN_OR_RETURN(a.report_sha256, RequiredString(body, "report_sha256"));
  PV_ASSIGN_OR_RETURN(auto recorded,
                      call.vault.external_audits.Record(
                          call.context, std::move(a), call.identity.id));
  return Reply{201, compliance::ExternalAuditJson(recorded)};
}

Result<Reply> ListExternalAudits(Call& call) {
  PV_ASSIGN_OR_RETURN(auto audits, call.vault.external_audits.List());
  json::array out;
  for (auto& a : audits) out.push_back(compliance::ExternalAuditJson(a));
  auto due = compliance::NextAuditDue(audits);
  return Reply{200, json::object{{"audits", std::move(out)},
                                 {"next_audit_due",
                                  due ? TimeJson(*due) : json::value()}}};
}

}  // namespace

void AddComplianceRoutes(const RouteAdder& add) {
  add("GET", "/v1/compliance/soa", "compliance.soa", Operation::kReadSoa,
      ReadSoa);
  add("GET", "/v1/compliance/report", "compliance.report",
      Operation::kReadComplianceReport, ReadReport);
  add("POST", "/v1/compliance/declarations", "compliance.declarations.create",
      Operation::kRecordDeclaration, RecordDeclaration);
  add("GET", "/v1/compliance/declarations", "compliance.declarations.list",
      Operation::kListDeclarations, ListDeclarations);
  add("POST", "/v1/compliance/audits", "compliance.audits.create",
      Operation::kRecordExternalAudit, RecordExternalAudit);
  add("GET", "/v1/compliance/audits", "compliance.audits.list",
      Operation::kListExternalAudits, ListExternalAudits);
}

}  // namespace piivault::api

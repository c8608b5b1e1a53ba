// Tenant exports (API.md, "Return, transfer, disposal";
// lifecycle/tenant_export.h): start one, see how far it has come, download
// it once completed. An export is of the tenant's data as a whole, so its
// events name the tenant (its log), not each record and principal in it:
// the manifest counts them.
#include "api/handler_support.h"
#include "base/encoding.h"

namespace piivault::api {
namespace {

using lifecycle::ExportState;
using lifecycle::TenantExport;
using policy::Operation;

// A disposed tenant has no exports left to show.
Status RequireNotDisposed(const Call& call) {
  if (call.decision.tenant().state == vault::TenantState::kDisposed)
    return NotFound("no such export");
  return Status::Ok();
}

json::value ExportJson(const TenantExport& e) {
  json::object o{
      {"id", e.id},
      {"state", lifecycle::ExportStateName(e.state)},
      {"progress", json::object{{"records_done", e.records_done},
                                {"records_total", e.records_total}}}};
  if (e.manifest) o["manifest"] = *e.manifest;
  return o;
}

// {"recipient_public_key"?}: the base64 of a raw 32-byte X25519 public key,
// to encrypt the export to; without it the download is plain NDJSON. The
// export runs as a job (due at once), which `serve` starts within its
// scheduler interval.
Result<Reply> CreateExport(Call& call) {
  PV_RETURN_IF_ERROR(RequireNotDisposed(call));
  json::object body;
  if (!call.request.body.empty()) {
    PV_ASSIGN_OR_RETURN(body,
                        ParseObject(call.request, {"recipient_public_key"}));
  }
  std::optional<std::string> recipient;
  if (auto* v = body.if_contains("recipient_public_key"); v && !v->is_null()) {
    if (v->is_string()) recipient = Base64Decode(v->get_string());
    if (!recipient)
      return Err(ValidationFailed(
          "recipient_public_key",
          "must be the base64 of a raw 32-byte X25519 public key"));
  }
  PV_ASSIGN_OR_RETURN(auto started, call.vault.exports.Start(
                                        call.context, call.decision.tenant(),
                                        std::move(recipient)));
  return Reply{
      202, json::object{{"id", started.id},
                        {"state", lifecycle::ExportStateName(started.state)}}};
}

Result<Reply> GetExport(Call& call) {
  PV_RETURN_IF_ERROR(RequireNotDisposed(call));
  PV_ASSIGN_OR_RETURN(auto e, call.vault.exports.Get(call.decision.tenant().id,
                                                     PathParam(call, 1)));
  return Reply{200, ExportJson(e)};
}

// The stored chunks, streamed as they are read: NDJSON, or the transfer
// stream to the recipient's key.
Result<Reply> DownloadExport(Call& call) {
  PV_RETURN_IF_ERROR(RequireNotDisposed(call));
  PV_ASSIGN_OR_RETURN(
      auto download, call.vault.exports.StartDownload(call.decision.tenant().id,
                                                      PathParam(call, 1)));
  Reply reply;
  reply.content_type = download.info.recipient_public_key.empty()
                           ? "application/x-ndjson"
                           : "application/octet-stream";
  reply.stream = std::move(download.next);
  return reply;
}

}  // namespace

void AddExportRoutes(const RouteAdder& add) {
  add("POST", "/v1/tenants/{t}/exports", "exports.create",
      Operation::kCreateExport, CreateExport);
  add("GET", "/v1/tenants/{t}/exports/{id}", "exports.get",
      Operation::kGetExport, GetExport);
  add("GET", "/v1/tenants/{t}/exports/{id}/download", "exports.download",
      Operation::kDownloadExport, DownloadExport);
}

}  // namespace piivault::api

#include "cli/export_download.h"

#include <boost/json.hpp>
#include <cstdio>

#include "base/encoding.h"
#include "cli/import.h"
#include "cli/progress.h"
#include "cli/transfer_files.h"
#include "crypto/hash.h"

namespace piivault::cli {
namespace json = boost::json;
using api::HttpResponse;

Status Refused(const HttpResponse& res) {
  boost::system::error_code ec;
  auto body = json::parse(res.body, ec);
  const json::value* error =
      !ec && body.is_object() ? body.as_object().if_contains("error") : nullptr;
  std::string what = "HTTP " + std::to_string(res.status);
  if (error && error->is_object()) {
    if (auto* code = error->as_object().if_contains("code");
        code && code->is_string())
      what += " " + std::string(code->as_string());
    if (auto* message = error->as_object().if_contains("message");
        message && message->is_string())
      what += ": " + std::string(message->as_string());
  }
  return FailedPrecondition("the server refused: " + what);
}

Status RunExportDownload(const ExportDownloadOptions& options) {
  const std::string base = "/v1/tenants/" + PathSegment(options.tenant) +
                           "/exports/" + PathSegment(options.export_id);
  PV_ASSIGN_OR_RETURN(HttpResponse state,
                      api::SendRequest(options.client, "GET", base, "", {}));
  if (state.status != 200) return Refused(state);
  boost::system::error_code ec;
  json::value doc = json::parse(state.body, ec);
  const json::object* manifest = nullptr;
  if (!ec && doc.is_object()) {
    const json::object& o = doc.as_object();
    if (auto* s = o.if_contains("state"); !s || *s != "completed")
      return FailedPrecondition("the export is not completed (yet)");
    if (auto* m = o.if_contains("manifest"); m && m->is_object())
      manifest = &m->as_object();
  }
  const json::value* sha256 =
      manifest ? manifest->if_contains("sha256") : nullptr;
  if (!sha256 || !sha256->is_string())
    return DataLoss("the export's state names no manifest sha256");

  crypto::Sha256Stream hash;
  int64_t bytes = 0;
  Progress progress("download", "bytes");
  PV_RETURN_IF_ERROR(WriteNewPrivateFile(
      options.out_path, [&](const FileWriter& write) -> Status {
        PV_ASSIGN_OR_RETURN(
            HttpResponse res,
            api::SendRequest(options.client, "GET", base + "/download", "",
                             {{"X-Purpose", options.purpose}},
                             [&](std::string_view piece) {
                               hash.Update(piece);
                               bytes += static_cast<int64_t>(piece.size());
                               progress.Update(bytes);
                               return write(piece);
                             }));
        if (res.status != 200) return Refused(res);
        // Checked before the file is kept: a download that is not the
        // exact stream the manifest signs is never left behind.
        if (HexEncode(hash.Finish()) != sha256->as_string())
          return DataLoss("the download does not match its manifest's sha256");
        return Status::Ok();
      }));
  if (!options.manifest_path.empty()) {
    PV_RETURN_IF_ERROR(WriteNewPrivateFile(
        options.manifest_path, [&](const FileWriter& write) {
          return write(json::serialize(*manifest) + "\n");
        }));
  }
  std::printf("{\"export\":%s,\"bytes\":%lld,\"sha256\":%s}\n",
              json::serialize(json::value(options.export_id)).c_str(),
              static_cast<long long>(bytes), json::serialize(*sha256).c_str());
  return Status::Ok();
}

}  // namespace piivault::cli

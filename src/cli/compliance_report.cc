#include "cli/compliance_report.h"

#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <iterator>

#include "base/encoding.h"
#include "cli/export_download.h"
#include "cli/transfer_files.h"
#include "compliance/report.h"

namespace piivault::cli {
namespace {

namespace json = boost::json;

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

}  // namespace

Status RunComplianceReport(const ComplianceReportOptions& options) {
  const std::string target = options.format == ReportFormat::kJson
                                 ? "/v1/compliance/report?format=json"
                                 : "/v1/compliance/report";
  return WriteNewPrivateFile(
      options.out_path, [&](const FileWriter& write) -> Status {
        PV_ASSIGN_OR_RETURN(
            api::HttpResponse res,
            api::SendRequest(options.client, "GET", target, "", {}, write));
        if (res.status != 200) return Refused(res);
        return Status::Ok();
      });
}

Result<std::string> ParseReportPublicKey(std::string_view text) {
  std::string_view b64 = Trimmed(text);
  boost::system::error_code ec;
  json::value doc = json::parse(b64, ec);
  if (!ec) {
    const json::value* key =
        doc.is_object() ? doc.get_object().if_contains("public_key") : nullptr;
    if (!key || !key->is_string())
      return Err(InvalidArgument("the public key JSON has no public_key"));
    b64 = Trimmed(key->get_string());
  }
  std::optional<std::string> key = Base64Decode(b64);
  if (!key || key->size() != crypto::kEd25519PublicKeySize)
    return Err(InvalidArgument(
        "the public key is not the base64 of a raw 32-byte Ed25519 key"));
  return *key;
}

Status VerifyReportFile(const std::string& path,
                        const std::string& public_key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FailedPrecondition("cannot read the report file");
  const std::string text(std::istreambuf_iterator<char>(in), {});
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return InvalidArgument("the report file is not JSON");
  return compliance::VerifyReport(doc, public_key);
}

}  // namespace piivault::cli

// `piivault compliance report` (the report fetched from a server into a new
// file) and `piivault compliance verify` (a signed JSON report checked
// offline, with the deployment's public key alone; no server, no database).
// docs/operations/compliance-report.md.
#pragma once

#include <string>

#include "api/client.h"
#include "base/status.h"

namespace piivault::cli {

enum class ReportFormat { kHtml, kJson };

struct ComplianceReportOptions {
  api::ClientOptions client;
  ReportFormat format = ReportFormat::kHtml;
  std::string out_path;  // a new file: never overwritten
};

// GET /v1/compliance/report (the printable HTML page) or, for kJson,
// GET /v1/compliance/report?format=json (the signed JSON form) into the new
// file `out_path` (mode 0600, never overwritten: kAlreadyExists). The
// server's error for a refused request; on any error no file is left.
Status RunComplianceReport(const ComplianceReportOptions& options);

// The raw 32-byte Ed25519 public key from `text`: the base64 of the key, or
// the JSON of GET /v1/audit/public-key (its `public_key`); surrounding
// whitespace is ignored. kInvalidArgument otherwise.
Result<std::string> ParseReportPublicKey(std::string_view text);

// Checks the signed JSON report in the file `path` against the raw
// `public_key` (compliance::VerifyReport): kInvalidArgument for a file that
// is not a signed report, kFailedPrecondition for one that names another
// key or cannot be read, kDataLoss when the signature does not hold.
Status VerifyReportFile(const std::string& path, const std::string& public_key);

}  // namespace piivault::cli

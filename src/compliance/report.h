// The compliance report an auditor keeps: the Statement of Applicability
// (the JSON of GET /v1/compliance/soa) as one printable HTML page, and as a
// signed JSON document that verifies offline with the deployment's public
// key alone (docs/operations/compliance-report.md).
//
// Both work from the SoA's JSON only, so they render whatever evidence a
// control carries: an object of any shape.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/signer.h"

namespace piivault::compliance {

// One self-contained HTML page: no script, no external asset (inline CSS
// with print styles; a Content-Security-Policy that forbids both), so it
// reads and prints the same anywhere, offline. Sections: the summary
// (standard, generated_at, nonconformities with their reasons, then the
// count of controls by status), the in-scope services, the SoA table (each
// control's ids, title, applicability, status, implementation and evidence,
// nested objects as definition lists and arrays of objects as tables), the
// declarations, and the audit register with next_audit_due. Every string of
// `soa` (member names too) is HTML-escaped; a member that is missing or of
// another type is shown as absent, never an error, since the page is
// evidence of what the SoA said.
std::string RenderReportHtml(const boost::json::object& soa);

// The signed JSON form: {"report": soa, "key_id", "algorithm": "ed25519",
// "signature"}, `signature` the base64 Ed25519 signature by `key` over
// audit::CanonicalJson(soa) (members sorted, no whitespace), as the export
// manifest is signed.
boost::json::object SignReport(const boost::json::object& soa,
                               const crypto::Ed25519Key& key);

// Checks a signed report against the raw 32-byte `public_key`, offline.
// kInvalidArgument: the key is not 32 bytes, or the document is not exactly
// the four members above (a member added outside "report" fails too) with
// algorithm "ed25519" and a base64 signature. kFailedPrecondition: its
// key_id names another key. kDataLoss: the signature does not hold, so the
// report (or the signature) was changed after signing.
Status VerifyReport(const boost::json::value& signed_report,
                    std::string_view public_key);

}  // namespace piivault::compliance

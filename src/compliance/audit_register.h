// The register of external audits and certificates (ISO/IEC 27018 18.2.1,
// independent review): which standard, which body, what scope and period,
// when the report or certificate was issued and until when it holds, and
// the SHA-256 of the report document, so an auditor can match the file.
// The processor is reviewed every year: the next audit is due a year after
// the newest one's issue date (NextAuditDue), and past it the Statement of
// Applicability shows 18.2.1 as a nonconformity.
//
// Thread safety: thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "vault/control_store.h"
#include "vault/request_context.h"

namespace piivault::compliance {

// How long an external audit covers the annual cycle.
inline constexpr std::chrono::seconds kAuditCycle = std::chrono::days(365);

struct ExternalAudit {
  std::string id;  // "aud_…"
  std::string standard;
  std::string body;   // the auditing or certification body
  std::string scope;  // what was audited
  TimePoint period_start;
  TimePoint period_end;
  TimePoint issued_at;
  TimePoint expires_at;
  std::string report_sha256;  // 64 lower-case hex digits
  std::string recorded_by;    // operator identity id
  TimePoint recorded_at;
};

// As the API shows it: the members of ExternalAudit, times in RFC 3339.
boost::json::object ExternalAuditJson(const ExternalAudit& audit);

// A year after the newest issued_at of `audits`; nullopt when there is none.
std::optional<TimePoint> NextAuditDue(const std::vector<ExternalAudit>& audits);

class AuditRegister {
 public:
  // REQUIRES: both pointers outlive this.
  AuditRegister(vault::ControlStore* control, const Clock* clock)
      : control_(control), clock_(clock) {}

  // Records `audit` (its id, recorded_by and recorded_at are set here).
  // validation_failed naming the member for: standard, body (1..200) or
  // scope (1..2000) that is not free text; period_end before period_start;
  // issued_at before period_start or in the future; expires_at not after
  // issued_at; report_sha256 that is not 64 lower-case hex digits.
  Result<ExternalAudit> Record(const vault::RequestContext& context,
                               ExternalAudit audit, std::string_view by);
  // Every audit, oldest issued first.
  Result<std::vector<ExternalAudit>> List();

 private:
  vault::ControlStore* control_;
  const Clock* clock_;
};

}  // namespace piivault::compliance

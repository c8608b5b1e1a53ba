#include "compliance/audit_register.h"

#include <algorithm>
#include <boost/json.hpp>

#include "crypto/random.h"
#include "vault/model.h"
#include "vault/storage_keys.h"
#include "vault/stored_object.h"

namespace piivault::compliance {

namespace keys = vault::keys;
namespace json = boost::json;

namespace {

constexpr std::string_view kIdPrefix = "aud_";
constexpr std::size_t kMaxName = 200, kMaxScope = 2000;
constexpr std::size_t kMaxAudits = 10000;  // one or two a year

json::value ToJson(const ExternalAudit& a) {
  return json::object{{"id", a.id},
                      {"standard", a.standard},
                      {"body", a.body},
                      {"scope", a.scope},
                      {"period_start_us", ToUnixMicros(a.period_start)},
                      {"period_end_us", ToUnixMicros(a.period_end)},
                      {"issued_us", ToUnixMicros(a.issued_at)},
                      {"expires_us", ToUnixMicros(a.expires_at)},
                      {"report_sha256", a.report_sha256},
                      {"recorded_by", a.recorded_by},
                      {"recorded_us", ToUnixMicros(a.recorded_at)}};
}

Result<ExternalAudit> FromJson(const json::value& v) {
  constexpr std::string_view kWhat = "external audit";
  PV_ASSIGN_OR_RETURN(auto s, vault::OpenStored(v, kWhat));
  ExternalAudit a{s.Str("id"),
                  s.Str("standard"),
                  s.Str("body"),
                  s.Str("scope"),
                  FromUnixMicros(s.Int("period_start_us")),
                  FromUnixMicros(s.Int("period_end_us")),
                  FromUnixMicros(s.Int("issued_us")),
                  FromUnixMicros(s.Int("expires_us")),
                  s.Str("report_sha256"),
                  s.Str("recorded_by"),
                  FromUnixMicros(s.Int("recorded_us"))};
  if (!s.ok) return Err(vault::Corrupt(kWhat));
  return a;
}

bool IsSha256Hex(std::string_view s) {
  return s.size() == 64 && std::ranges::all_of(s, [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

json::object ExternalAuditJson(const ExternalAudit& a) {
  return json::object{{"id", a.id},
                      {"standard", a.standard},
                      {"body", a.body},
                      {"scope", a.scope},
                      {"period_start", FormatRfc3339(a.period_start)},
                      {"period_end", FormatRfc3339(a.period_end)},
                      {"issued_at", FormatRfc3339(a.issued_at)},
                      {"expires_at", FormatRfc3339(a.expires_at)},
                      {"report_sha256", a.report_sha256},
                      {"recorded_by", a.recorded_by},
                      {"recorded_at", FormatRfc3339(a.recorded_at)}};
}

std::optional<TimePoint> NextAuditDue(
    const std::vector<ExternalAudit>& audits) {
  if (audits.empty()) return std::nullopt;
  auto newest = std::ranges::max(audits, {}, &ExternalAudit::issued_at);
  return newest.issued_at + kAuditCycle;
}

Result<ExternalAudit> AuditRegister::Record(
    const vault::RequestContext& context, ExternalAudit a,
    std::string_view by) {
  PV_RETURN_IF_ERROR(
      vault::ValidateFreeText("standard", a.standard, 1, kMaxName));
  PV_RETURN_IF_ERROR(vault::ValidateFreeText("body", a.body, 1, kMaxName));
  PV_RETURN_IF_ERROR(vault::ValidateFreeText("scope", a.scope, 1, kMaxScope));
  const TimePoint now = clock_->Now();
  if (a.period_end < a.period_start)
    return Err(ValidationFailed("period_end", "must not precede period_start"));
  if (a.issued_at < a.period_start || a.issued_at > now)
    return Err(ValidationFailed(
        "issued_at", "must be after period_start and not in the future"));
  if (a.expires_at <= a.issued_at)
    return Err(ValidationFailed("expires_at", "must be after issued_at"));
  if (!IsSha256Hex(a.report_sha256))
    return Err(
        ValidationFailed("report_sha256", "must be 64 lower-case hex digits"));
  a.id = crypto::RandomId(kIdPrefix);
  a.recorded_by = std::string(by);
  a.recorded_at = now;
  const std::string key = keys::ExternalAudit(a.id);
  storage::WriteBatch batch = context.Batch();
  batch.RequireValue(key, std::nullopt);
  control_->Put(batch, key, ToJson(a));
  PV_RETURN_IF_ERROR(control_->Write(context, batch));
  return a;
}

Result<std::vector<ExternalAudit>> AuditRegister::List() {
  PV_ASSIGN_OR_RETURN(auto docs,
                      control_->Scan(keys::ExternalAuditPrefix(), kMaxAudits));
  std::vector<ExternalAudit> out;
  for (auto& [key, doc] : docs) {
    PV_ASSIGN_OR_RETURN(auto a, FromJson(doc));
    out.push_back(std::move(a));
  }
  std::ranges::stable_sort(out, {}, &ExternalAudit::issued_at);
  return out;
}

}  // namespace piivault::compliance

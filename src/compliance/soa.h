// The live Statement of Applicability (ISO/IEC 27018:2019): every control
// of the catalogue (compliance/controls.h) exactly once with its status,
// how piivault implements it and evidence read from the running system.
//
// BuildSoa is a pure function of SoaInputs, the facts read at one moment
// (services/compliance_evidence.h gathers them through the other parts'
// services). Nothing of the outcome is stored: a failing check turns its
// control to kNonconformity with a reason, and once the facts change the
// next SoA no longer shows it. The checks:
//   A.11.6  a listener off loopback without TLS;
//   12.4.2  an audit log whose entries no longer verify against its head;
//   A.10.1  a breach notice to a tenant past its deadline and not sent;
//   18.2.1  no external audit recorded, or the newest issued more than a
//           year ago (the processor is reviewed every year: a deployment
//           with none recorded has not shown that it was).
// Organizational controls are kOrganizational with the operator's newest
// declaration (or none), never kImplemented.
//
// The evidence names counts, ids, regions, countries and times: never a
// record value or principal id, so an auditor may read all of it.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "compliance/audit_register.h"
#include "compliance/controls.h"
#include "compliance/declarations.h"
#include "compliance/incidents.h"
#include "compliance/sub_processors.h"

namespace piivault::compliance {

// Named in JSON: "implemented", "partially_implemented", "organizational",
// "not_applicable", "nonconformity".
enum class SoaStatus {
  kImplemented,
  kPartiallyImplemented,
  kOrganizational,
  kNotApplicable,
  kNonconformity,
};
std::string_view SoaStatusName(SoaStatus status);
std::optional<SoaStatus> ParseSoaStatus(std::string_view name);

// One listener of the server, as the deployment's config runs it.
struct ListenerSettings {
  std::string name;  // e.g. "api"
  std::string host;  // plain HTTP is allowed on loopback (IsLoopbackHost)
  uint16_t port = 0;
  bool tls = false;
  std::string min_tls_version;  // e.g. "TLSv1.2"; empty without TLS
};

struct RegionEvidence {
  std::string id;
  std::vector<std::string> countries;
  int tenants = 0;  // tenants allowing the region
  int64_t principals = 0;
  std::optional<int64_t> records;  // nullopt: unreachable now
};

struct IdentityEvidence {
  std::map<std::string, int> active_by_role;  // role name → count
  int deactivated = 0;
  // The oldest active identity's creation: rotations are not timed, so its
  // age bounds the oldest active key's age from above.
  std::optional<TimePoint> oldest_active_created;
};

struct AuditLogEvidence {
  std::string log;  // "operator" or the tenant log's id
  uint64_t tree_size = 0;
  std::string root_hash;  // hex
  std::optional<TimePoint> head_at;
  bool verifies = false;
  std::string problem;  // why not, when it does not verify
};

struct CertificateEvidence {
  std::string tenant;
  std::string id;
  TimePoint issued_at;
};

// A service of the deployment in the ISO 27018 scope, and where it runs.
struct InScopeService {
  std::string name;
  std::string description;
  std::vector<std::string> regions;
};

struct SoaInputs {
  TimePoint now;
  std::vector<ListenerSettings> listeners;
  std::vector<RegionEvidence> regions;
  IdentityEvidence identities;
  std::map<std::string, int> disclosures_by_state;  // state name → count
  std::optional<CertificateEvidence> latest_erasure;
  std::optional<CertificateEvidence> latest_disposal;
  std::vector<AuditLogEvidence> audit_logs;
  std::vector<SubProcessor> sub_processors;
  std::vector<Incident> incidents;
  std::vector<Declaration> declarations;
  std::vector<ExternalAudit> audits;
  std::vector<InScopeService> services;
};

struct SoaEntry {
  const Control* control;
  SoaStatus status;
  std::vector<std::string> reasons;  // of a nonconformity
  boost::json::object evidence;
};

// Every control of Controls(), in its order.
std::vector<SoaEntry> BuildSoa(const SoaInputs& in);

// The SoA document as API.md shows it ({"standard","generated_at",
// "controls":[{"id","id_2014","title","applicable","status",
// "implementation","evidence","reasons"?}]}) plus "in_scope_services",
// "declarations", "audits" (with "next_audit_due") and "nonconformities"
// (a summary: control id and reasons).
boost::json::object SoaDocument(const SoaInputs& in,
                                const std::vector<SoaEntry>& entries);

}  // namespace piivault::compliance

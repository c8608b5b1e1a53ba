// A Statement of Applicability as GET /v1/compliance/soa gives it (API.md →
// Compliance), for the report's tests: controls of every status, evidence
// of several shapes (nested objects, arrays of objects, scalars), a
// nonconformity with its reasons, declarations (one with markup in its text,
// which must come out as text) and the audit register.
// Shared by report_test.cc and the web test's fixture tool
// (tests/web/report_fixture_tool.cc).
#pragma once

#include <boost/json.hpp>

namespace piivault::compliance::testing {

inline boost::json::object ReportFixture() {
  return boost::json::parse(R"json({
  "standard": "ISO/IEC 27018:2019",
  "generated_at": "2026-12-03T16:00:00Z",
  "controls": [
    {"id": "A.2.1", "id_2014": "A.1.1",
     "title": "Obligation to co-operate regarding PII principals' rights",
     "applicable": true, "status": "implemented",
     "implementation": "Principal access, correction, export and erasure APIs.",
     "evidence": {"routes": ["GET /v1/tenants/{t}/principals/{p}",
                             "DELETE /v1/tenants/{t}/principals/{p}"],
                  "erasures_certified": 12}},
    {"id": "A.6.2", "id_2014": "A.5.2", "title": "Recording of PII disclosures",
     "applicable": true, "status": "implemented",
     "implementation": "Disclosure records per request, visible to the tenant.",
     "evidence": {"disclosures_by_state": {"received": 1, "approved": 0,
                                           "rejected": 2, "fulfilled": 3}}},
    {"id": "A.10.1", "id_2014": "A.9.1",
     "title": "Notification of a data breach involving PII",
     "applicable": true, "status": "nonconformity",
     "implementation": "Incident register with per-tenant notice deadlines.",
     "evidence": {"open_incidents": [
                    {"id": "inc-7", "breach": true, "overdue_notices": 1,
                     "detected_at": "2026-11-28T09:00:00Z"}]}},
    {"id": "A.11.2", "id_2014": "A.10.2",
     "title": "Restriction of the creation of hardcopy material",
     "applicable": true, "status": "organizational",
     "implementation": "Declared by the operator.",
     "evidence": {"declaration": {"by": "op-admin-1",
                                  "at": "2026-10-01T08:00:00Z"}}},
    {"id": "A.11.6", "id_2014": "A.10.6",
     "title": "Encryption of PII transmitted over public data-transmission networks",
     "applicable": true, "status": "partially_implemented",
     "implementation": "TLS 1.2 or later off loopback; webhooks https only.",
     "evidence": {"listeners": [
                    {"address": "127.0.0.1:8200", "tls": false, "loopback": true},
                    {"address": "0.0.0.0:8443", "tls": true,
                     "min_version": "TLSv1.2"}]}},
    {"id": "A.12.1", "id_2014": "A.11.1", "title": "Geographical location of PII",
     "applicable": true, "status": "implemented",
     "implementation": "Regions pinned to countries, one backend per region.",
     "evidence": {"regions": [{"region": "eu", "countries": ["DE", "FR"],
                               "principals": 1200},
                              {"region": "us", "countries": ["US"],
                               "principals": 300}]}},
    {"id": "A.11.7", "id_2014": "A.10.7",
     "title": "Secure disposal of hardcopy materials",
     "applicable": false, "status": "not_applicable",
     "implementation": "No hardcopy is produced.", "evidence": {}}
  ],
  "in_scope_services": [
    {"service": "records", "regions": ["eu", "us"]},
    {"service": "tokens", "regions": ["eu", "us"]},
    {"service": "export", "regions": ["eu"]}
  ],
  "declarations": [
    {"control": "A.11.2", "kind": "hardcopy_rules",
     "text": "No PII is printed by operator staff. <script>alert('x')</script> & \"quotes\" stay text.",
     "by": "op-admin-1", "at": "2026-10-01T08:00:00Z"}
  ],
  "audits": [
    {"standard": "ISO/IEC 27018:2019", "body": "Example Certification Body",
     "scope": "piivault production", "period_start": "2025-11-01",
     "period_end": "2025-11-30", "issued_at": "2025-12-15",
     "expires_at": "2028-12-14",
     "report_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
  ],
  "next_audit_due": "2026-12-15",
  "nonconformities": [
    {"control": "A.10.1",
     "reasons": ["incident inc-7: a breach notice is past its deadline"]}
  ]
})json")
      .as_object();
}

}  // namespace piivault::compliance::testing

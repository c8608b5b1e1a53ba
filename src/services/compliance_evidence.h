// The compliance evidence of a deployment, read live through its services
// (tenants, identities, the audit logs' signed heads and their verification
// now, disclosure requests, sub-processors, incidents, certificates of
// erasure and disposal, declarations, external audits), never through
// their storage, and the Statement of Applicability over it
// (compliance/soa.h). The report (GET /v1/compliance/report) renders
// exactly SoaJson's document.
//
// Cost: verifying each audit log reads all its entries; the SoA is an
// occasional operator and auditor read, not a request-path one.
#pragma once

#include <boost/json/object.hpp>

#include "audit/audit_log.h"
#include "compliance/soa.h"
#include "services/vault.h"

namespace piivault::services {

// The facts of the SoA as of the vault's clock now.
Result<compliance::SoaInputs> GatherSoaInputs(
    const vault::RequestContext& context, Vault& vault, audit::AuditLog& audit);

// The whole SoA document (compliance::SoaDocument of GatherSoaInputs).
Result<boost::json::object> SoaJson(const vault::RequestContext& context,
                                    Vault& vault, audit::AuditLog& audit);

}  // namespace piivault::services

// The vault's control-plane entities and their stored JSON form.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "vault/field_types.h"

namespace piivault::vault {

enum class Role {
  kOperatorAdmin,
  kOperatorLegal,
  kOperatorSecurity,
  kAuditor,
  kTenantAdmin,
  kTenantApp,
};
std::optional<Role> ParseRole(std::string_view name);
std::string_view RoleName(Role role);
// Operator-plane roles belong to the processor's staff, never to a tenant.
bool IsOperatorRole(Role role);

struct Identity {
  std::string id;
  std::string name;
  Role role = Role::kTenantApp;
  std::string tenant;      // empty for operator identities
  std::string key_digest;  // keyed digest of the API key secret (binary)
  TimePoint created_at;
  std::optional<TimePoint> deactivated_at;
  boost::json::value policy;  // null when none
};

// 403 region_not_allowed: a region the tenant does not (or no longer) allow.
inline Status RegionNotAllowed() {
  return PermissionDenied("the region is not allowed for this tenant",
                          "region_not_allowed");
}

// 403 consent_required: the request's purpose needs the principal's consent,
// which it has not given (or has withdrawn).
inline Status ConsentRequired() {
  return PermissionDenied("the principal has not consented to this purpose",
                          "consent_required");
}

// A tenant's contract state (API.md: terminating and disposed come with
// termination). Only an active tenant's data may change.
enum class TenantState { kActive, kTerminating, kDisposed };
std::string_view TenantStateName(TenantState state);
std::optional<TenantState> ParseTenantState(std::string_view name);

struct Tenant {
  std::string id;
  std::string name;
  std::vector<std::string> regions;
  std::string default_region;
  TenantState state = TenantState::kActive;
  TimePoint created_at;
  // Set when terminated: when the tenant's data is disposed of.
  std::optional<TimePoint> disposal_due_at;
  // Regions being removed by a PATCH in progress: still listed (their data
  // stays readable) but closed to new principals.
  std::vector<std::string> closing_regions;

  bool AllowsRegion(std::string_view region) const;
  bool AcceptsNewPrincipals(std::string_view region) const;
};

// Principal directory entry (control store): where a principal lives.
struct Placement {
  std::string region;
  TimePoint created_at;
  bool erasing = false;  // an erasure has begun (lifecycle/erasure.h)
};

// A relocation in progress (control store), kept until it has finished so a
// crash at any step is resumed.
struct RelocationRecord {
  std::string tenant;
  std::string pseudonym;
  std::string from;
  std::string to;
  TimePoint started_at;
};

enum class PurposeCategory {
  kService,
  kSecurity,
  kLegal,
  kAnalytics,
  kMarketing,
  kAdvertising,
};
std::optional<PurposeCategory> ParsePurposeCategory(std::string_view name);
std::string_view PurposeCategoryName(PurposeCategory category);
// Marketing and advertising are served only with the principal's consent.
bool RequiresConsent(PurposeCategory category);

struct Purpose {
  std::string id;
  PurposeCategory category = PurposeCategory::kService;
  std::string description;
};

// The purposes every new tenant starts with.
std::vector<Purpose> DefaultPurposes();

struct FieldSpec {
  std::string name;
  FieldType type = FieldType::kString;
  bool required = false;
  bool searchable = false;
  bool operator==(const FieldSpec&) const = default;
};

struct Collection {
  std::string name;
  std::vector<FieldSpec> fields;
  std::string retention;  // ISO 8601 duration, empty for none
  TimePoint created_at;
  TimePoint updated_at;

  const FieldSpec* FindField(std::string_view field) const;
};

// Names of tenants, collections, fields, purposes: [a-z0-9][a-z0-9_-]{0,63}.
// They appear in storage keys and URLs, so they must be short, plain and
// never personal data. `what` names the kind in the error message.
Status ValidateName(std::string_view what, std::string_view name);
// Principal ids (the tenant's own): 1-256 bytes, no control characters.
Status ValidatePrincipalId(std::string_view principal);
// Free text a person reads (tenant and identity names, purpose
// descriptions, consent method and evidence, lockbox reasons): strictly
// valid UTF-8 of min_chars..max_chars code points, with no control character
// (C0, DEL, C1) and no bidirectional mark, embedding, override or isolate
// (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), which could make
// the text a tenant-admin approves read differently from what it says.
// validation_failed naming `field` otherwise (never the text).
Status ValidateFreeText(std::string_view field, std::string_view text,
                        std::size_t min_chars, std::size_t max_chars);

// Stored forms (JSON, sealed by the caller). FromJson returns kDataLoss on a
// malformed stored value.
boost::json::value ToJson(const Identity& identity);
boost::json::value ToJson(const Tenant& tenant);
boost::json::value ToJson(const Purpose& purpose);
boost::json::value ToJson(const Collection& collection);
boost::json::value ToJson(const Placement& placement);
boost::json::value ToJson(const RelocationRecord& relocation);
Result<Identity> IdentityFromJson(const boost::json::value& v);
Result<Placement> PlacementFromJson(const boost::json::value& v);
Result<RelocationRecord> RelocationFromJson(const boost::json::value& v);
Result<Tenant> TenantFromJson(const boost::json::value& v);
Result<Purpose> PurposeFromJson(const boost::json::value& v);
Result<Collection> CollectionFromJson(const boost::json::value& v);

}  // namespace piivault::vault

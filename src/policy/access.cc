#include "policy/access.h"

#include <algorithm>
#include <array>

namespace piivault::policy {
namespace {

using vault::Role;

// Roles as bits, so the table below reads as a matrix.
enum : unsigned {
  kOpAdmin = 1u << 0,
  kOpLegal = 1u << 1,
  kOpSecurity = 1u << 2,
  kAuditor = 1u << 3,
  kTenantAdmin = 1u << 4,
  kTenantApp = 1u << 5,
};
constexpr unsigned kAnyone =
    kOpAdmin | kOpLegal | kOpSecurity | kAuditor | kTenantAdmin | kTenantApp;
constexpr unsigned kOpStaff = kOpAdmin | kOpLegal | kOpSecurity;

unsigned Bit(Role role) {
  switch (role) {
    case Role::kOperatorAdmin:
      return kOpAdmin;
    case Role::kOperatorLegal:
      return kOpLegal;
    case Role::kOperatorSecurity:
      return kOpSecurity;
    case Role::kAuditor:
      return kAuditor;
    case Role::kTenantAdmin:
      return kTenantAdmin;
    case Role::kTenantApp:
      return kTenantApp;
  }
  return 0;
}

// How an operation is decided beyond the role table.
enum class Plane {
  kControl,  // the role table alone
  kConsent,  // tenant-apps by their consent_read/consent_write rules
  kData,     // X-Purpose; tenant-apps by policy; operators by lockbox
};

struct Row {
  Operation op;
  OperationSpec spec;
  unsigned roles;  // who may (tenant roles: of that tenant only)
  Plane plane = Plane::kControl;
  Action action = Action::kRead;  // kConsent/kData: the policy action
  bool lockbox = false;           // kData: operator staff may, under a lockbox
  bool self = false;              // the identity named by the route may, too
};

constexpr auto A = Audited::kAlways;
constexpr auto N = Audited::kNever;

// Who may do what. Tenant roles act only on their own tenant. Operator
// identities never reach tenant data but through an approved lockbox
// (reads) — and may create a tenant's first admin only (bootstrap, decided
// by the identity service, atomically), never rotate, deactivate or set the
// policy of a tenant identity.
// clang-format off
constexpr std::array<Row, 39> kTable{{
  // op                               name                     tenant identity writes audit  roles
  {Operation::kWhoAmI,                {"whoami",                false, false, false, N},   kAnyone},
  {Operation::kListRegions,           {"list regions",          false, false, false, N},   kAnyone},
  {Operation::kReadPublicKey,         {"read public key",       false, false, false, N},   kAnyone},
  {Operation::kCreateOperatorIdentity,{"create operator identity", false, false, false, A}, kOpAdmin},
  {Operation::kListOperatorIdentities,{"list operator identities", false, false, false, N}, kOpAdmin},
  {Operation::kDeactivateOperatorIdentity, {"deactivate operator identity", false, true , false, A}, kOpAdmin},
  {Operation::kRotateOperatorIdentity,{"rotate operator identity", false, true , false, A}, kOpAdmin, Plane::kControl, Action::kRead, false, true},
  {Operation::kCreateTenant,          {"create tenant",         false, false, false, A},   kOpAdmin},
  {Operation::kReadOperatorAudit,     {"read operator audit log", false, false, false, N}, kOpAdmin | kAuditor},
  {Operation::kReadTenant,            {"read tenant",           true, false,  false, N},   kOpAdmin | kAuditor | kTenantAdmin | kTenantApp},
  {Operation::kUpdateTenant,          {"update tenant",         true, false,  false, A},   kOpAdmin},
  {Operation::kReadLocations,         {"read locations",        true, false,  false, N},   kOpAdmin | kAuditor | kTenantAdmin},
  {Operation::kCreateTenantIdentity,  {"create tenant identity", true, false, false, A},   kOpAdmin | kTenantAdmin},
  {Operation::kListTenantIdentities,  {"list tenant identities", true, false, false, N},   kOpAdmin | kTenantAdmin},
  {Operation::kDeactivateTenantIdentity, {"deactivate tenant identity", true, true , false, A}, kTenantAdmin},
  {Operation::kRotateTenantIdentity,  {"rotate tenant identity", true, true , false, A},   kTenantAdmin, Plane::kControl, Action::kRead, false, true},
  {Operation::kSetIdentityPolicy,     {"set identity policy",   true, true ,  false, A},   kTenantAdmin},
  {Operation::kListPurposes,          {"list purposes",         true, false,  false, N},   kOpAdmin | kAuditor | kTenantAdmin | kTenantApp},
  {Operation::kPutPurpose,            {"put purpose",           true, false,  false, A},   kTenantAdmin},
  {Operation::kPutCollection,         {"put collection",        true, false,  true,  A},   kTenantAdmin},
  {Operation::kReadCollection,        {"read collection",       true, false,  false, N},   kTenantAdmin | kTenantApp},
  {Operation::kReadCertificates,      {"read certificates",     true, false,  false, N},   kOpAdmin | kAuditor | kTenantAdmin},
  {Operation::kReadTenantAudit,       {"read tenant audit log", true, false,  false, N},   kAuditor | kTenantAdmin},
  {Operation::kRequestLockbox,        {"request lockbox",       true, false,  false, A},   kOpStaff},
  {Operation::kDecideLockbox,         {"decide lockbox",        true, false,  false, A},   kTenantAdmin},
  {Operation::kReadLockbox,           {"read lockbox requests", true, false,  false, N},   kOpStaff | kAuditor | kTenantAdmin},
  {Operation::kRelocatePrincipal,     {"relocate principal",    true, false,  true,  A},   kTenantAdmin},
  {Operation::kReadConsents,          {"read consents",         true, false,  false, A},   kTenantAdmin | kTenantApp, Plane::kConsent, Action::kConsentRead},
  {Operation::kRecordConsent,         {"record consent",        true, false,  true,  A},   kTenantAdmin | kTenantApp, Plane::kConsent, Action::kConsentWrite},
  {Operation::kCreateRecord,          {"create record",         true, false,  true,  A},   kTenantAdmin | kTenantApp, Plane::kData, Action::kWrite},
  {Operation::kReadRecord,            {"read record",           true, false,  false, A},   kTenantAdmin | kTenantApp | kOpStaff, Plane::kData, Action::kRead, true},
  {Operation::kUpdateRecord,          {"update record",         true, false,  true,  A},   kTenantAdmin | kTenantApp, Plane::kData, Action::kWrite},
  {Operation::kDeleteRecord,          {"delete record",         true, false,  true,  A},   kTenantAdmin | kTenantApp, Plane::kData, Action::kDelete},
  {Operation::kSearchRecords,         {"search records",        true, false,  false, A},   kTenantAdmin | kTenantApp | kOpStaff, Plane::kData, Action::kSearch, true},
  {Operation::kTokenize,              {"tokenize",              true, false,  false, A},   kTenantAdmin | kTenantApp, Plane::kData, Action::kTokenize},
  {Operation::kDetokenize,            {"detokenize",            true, false,  false, A},   kTenantAdmin | kTenantApp, Plane::kData, Action::kDetokenize},
  {Operation::kReadPrincipal,         {"read principal",        true, false,  false, A},   kTenantAdmin | kTenantApp | kOpStaff, Plane::kData, Action::kRead, true},
  {Operation::kExportPrincipal,       {"export principal",      true, false,  false, A},   kTenantAdmin | kTenantApp, Plane::kData, Action::kExport},
  {Operation::kErasePrincipal,        {"erase principal",       true, false,  true,  A},   kTenantAdmin | kTenantApp, Plane::kData, Action::kDelete},
}};
// clang-format on

// The table is indexed by the operations' declaration order: every
// operation has exactly one row, checked when compiling.
constexpr bool RowsInOrder() {
  for (std::size_t i = 0; i < kTable.size(); ++i)
    if (static_cast<std::size_t>(kTable[i].op) != i) return false;
  return kTable.size() == static_cast<std::size_t>(Operation::kLast) + 1;
}
static_assert(RowsInOrder(), "kTable needs one row per Operation, in order");

const Row& RowOf(Operation op) { return kTable[static_cast<std::size_t>(op)]; }

Status Denied(std::string_view why) {
  return PermissionDenied(std::string(why));
}

}  // namespace

const OperationSpec& Spec(Operation op) { return RowOf(op).spec; }

const std::vector<Operation>& AllOperations() {
  static const std::vector<Operation> all = [] {
    std::vector<Operation> out;
    for (auto& row : kTable) out.push_back(row.op);
    return out;
  }();
  return all;
}

bool PlainAllowed(const FieldGrant& grant, std::string_view field) {
  if (!grant) return true;
  auto it = grant->fields.find(std::string(field));
  return it != grant->fields.end() && it->second == Transform::kPlain;
}

bool Granted(const FieldGrant& grant, std::string_view field) {
  return !grant || grant->fields.contains(std::string(field));
}

std::string_view Decision::consent_purpose() const {
  return purpose_ && vault::RequiresConsent(purpose_->category)
             ? std::string_view(purpose_->id)
             : std::string_view();
}

Result<FieldGrant> Decision::Fields(Action action,
                                    const vault::Collection& collection) const {
  if (lockbox_ && !lockbox_->scope.Covers(collection.name))
    return Err(Denied("outside the lockbox request's scope"));
  if (!policy_) return FieldGrant();
  std::vector<std::string> fields;
  fields.reserve(collection.fields.size());
  for (auto& f : collection.fields) fields.push_back(f.name);
  auto grant = policy_->Evaluate(action, purpose_ ? purpose_->id : "",
                                 collection.name, fields);
  if (!grant) return Err(Denied("no policy rule allows this request"));
  return FieldGrant(std::move(*grant));
}

std::optional<FieldGrant> Decision::FieldsIfAny(
    Action action, const vault::Collection& collection) const {
  auto grant = Fields(action, collection);
  if (!grant) return std::nullopt;
  return std::move(*grant);
}

Status Decision::RequireInScope(std::string_view principal) const {
  if (lockbox_ && !lockbox_->scope.CoversPrincipal(principal))
    return Denied("outside the lockbox request's scope");
  return Status::Ok();
}

bool Decision::AllowsConsentPurpose(Action action,
                                    std::string_view purpose) const {
  return !policy_ || policy_->Allows(action, purpose);
}

Result<Decision> AccessDecider::Decide(const Caller& caller, Operation op,
                                       const Target& target) const {
  const Row& row = RowOf(op);
  const vault::Identity& who = caller.identity;
  const bool op_staff = vault::IsOperatorRole(who.role);
  const bool self = row.self && target.identity == who.id;
  if (!(row.roles & Bit(who.role)) && !self)
    return Err(Denied(op_staff && row.plane == Plane::kData
                          ? "operator staff reach tenant data only by reading "
                            "under an approved lockbox request"
                          : "this identity's role may not do this"));
  if (row.spec.on_tenant && !op_staff && who.tenant != target.tenant)
    return Err(Denied("this identity belongs to another tenant"));
  const std::string_view tenant = target.tenant;

  Decision d;
  if (row.spec.on_tenant) {
    PV_ASSIGN_OR_RETURN(d.tenant_, vault_->tenants.Get(tenant));
    if (row.spec.writes && d.tenant_->state != vault::TenantState::kActive)
      return Err(
          PermissionDenied("the tenant is not active", "tenant_not_active"));
  }
  if (op_staff && op == Operation::kCreateTenantIdentity)
    d.limit_ = Decision::Limit::kFirstAdminOnly;
  if (op_staff && who.role != Role::kAuditor && op == Operation::kReadLockbox)
    d.limit_ = Decision::Limit::kOwnRequestsOnly;
  if (who.role == Role::kTenantApp && row.plane != Plane::kControl) {
    PV_ASSIGN_OR_RETURN(d.policy_, policies_->Get(who.id, who.policy));
  }
  // Decided before the principal is looked up: a caller without a rule
  // must not learn even whether the principal exists.
  if (row.plane == Plane::kConsent && d.policy_ &&
      !d.policy_->AllowsAnyPurpose(row.action))
    return Err(Denied("no policy rule allows this request"));
  if (row.plane == Plane::kData) return DecideData(caller, op, std::move(d));
  return d;
}

Result<Decision> AccessDecider::DecideData(const Caller& caller, Operation op,
                                           Decision d) const {
  const Row& row = RowOf(op);
  const vault::Identity& who = caller.identity;
  const std::string& tenant = d.tenant_->id;
  // Operator staff have no purpose of their own over tenant data: they read
  // only what the tenant approved, under a lockbox request.
  if (vault::IsOperatorRole(who.role)) {
    if (!row.lockbox) return Err(Denied("a lockbox allows reading only"));
    PV_ASSIGN_OR_RETURN(d.lockbox_,
                        vault_->lockbox.Active(tenant, caller.lockbox, who.id));
  }
  if (caller.purpose.empty())
    return Err(InvalidArgument("the X-Purpose header is required",
                               "purpose_required"));
  auto purpose = vault_->tenants.GetPurpose(tenant, caller.purpose);
  if (!purpose && purpose.error().code() == StatusCode::kNotFound)
    return Err(InvalidArgument("the purpose is not defined for this tenant",
                               "unknown_purpose"));
  if (!purpose) return Err(purpose.error());
  d.purpose_ = std::move(*purpose);
  // Never marketing or advertising for the processor's own staff.
  if (d.lockbox_ && vault::RequiresConsent(d.purpose_->category))
    return Err(
        Denied("a lockbox never covers a marketing or advertising purpose"));
  if (d.policy_ && !d.policy_->Allows(row.action, d.purpose_->id))
    return Err(Denied("no policy rule allows this request"));
  return d;
}

}  // namespace piivault::policy

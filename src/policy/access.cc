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
  // What operator staff (not auditors) are held to when they may.
  Decision::Limit staff_limit = Decision::Limit::kNone;
};

constexpr auto A = Audited::kAlways;
constexpr auto N = Audited::kNever;
constexpr bool P = true;    // reads, returns or changes personal data
constexpr bool NP = false;  // does not
constexpr auto I = Runs::kInline;
constexpr auto O = Runs::kOffload;

// Who may do what. Tenant roles act only on their own tenant. Operator
// identities never reach tenant data but through an approved lockbox
// (reads) — and may create a tenant's first admin only (bootstrap, decided
// by the identity service, atomically), never rotate, deactivate or set the
// policy of a tenant identity.
// clang-format off
constexpr std::array<Row, 71> kTable{{
  // op                               {tenant identity writes audit pii runs}  roles  [plane action lockbox self staff_limit]
  {Operation::kWhoAmI,                {false, false, false, N, NP, I},   kAnyone},
  {Operation::kListRegions,           {false, false, false, N, NP, I},   kAnyone},
  {Operation::kReadPublicKey,         {false, false, false, N, NP, I},   kAnyone},
  {Operation::kCreateOperatorIdentity,{false, false, false, A, NP, O}, kOpAdmin},
  {Operation::kListOperatorIdentities,{false, false, false, N, NP, O}, kOpAdmin},
  {Operation::kDeactivateOperatorIdentity, {false, true , false, A, NP, O}, kOpAdmin},
  {Operation::kRotateOperatorIdentity,{false, true , false, A, NP, O}, kOpAdmin, Plane::kControl, Action::kRead, false, true},
  {Operation::kCreateTenant,          {false, false, false, A, NP, O},   kOpAdmin},
  // The tenants' documents as kReadTenant shows one: nothing personal, so
  // not audited; a scan of every tenant, so off the I/O thread.
  {Operation::kListTenants,           {false, false, false, N, NP, O}, kOpStaff | kAuditor},
  {Operation::kReadOperatorAudit,     {false, false, false, N, NP, O}, kOpAdmin | kAuditor},
  {Operation::kListJobs,              {false, false, false, N, NP, O}, kOpAdmin},
  {Operation::kListDeadLetters,       {false, false, false, N, NP, O}, kOpAdmin},
  // Legal disclosure requests: operator-legal asks, a second one decides,
  // and fulfilment reads the scoped principals' data (one event per
  // principal in the tenant's log). Not writes of the tenant: a
  // terminating tenant's data can still be demanded.
  {Operation::kCreateDisclosure,      {false, false, false, A, NP, O}, kOpLegal},
  {Operation::kDecideDisclosure,      {false, false, false, A, NP, O}, kOpLegal},
  {Operation::kFulfilDisclosure,      {false, false, false, A, P, O},  kOpLegal},
  {Operation::kReadDisclosure,        {false, false, false, N, NP, O}, kOpLegal | kAuditor},
  // The register is a disclosure to the customers: their admins read it.
  {Operation::kPutSubProcessor,       {false, false, false, A, NP, O}, kOpAdmin},
  {Operation::kListSubProcessors,     {false, false, false, N, NP, O}, kOpStaff | kAuditor | kTenantAdmin},
  {Operation::kRemoveSubProcessor,    {false, false, false, A, NP, O}, kOpAdmin},
  {Operation::kListObjections,        {false, false, false, N, NP, O}, kOpAdmin | kAuditor},
  {Operation::kCreateIncident,        {false, false, false, A, NP, O}, kOpSecurity},
  {Operation::kReadIncidents,         {false, false, false, N, NP, O}, kOpSecurity | kOpAdmin | kAuditor},
  {Operation::kNotifyIncident,        {false, false, false, A, NP, O}, kOpSecurity},
  {Operation::kUpdateIncident,        {false, false, false, A, NP, O}, kOpSecurity},
  // The evidence names counts, ids and times, never PII: auditors read it.
  {Operation::kReadSoa,               {false, false, false, N, NP, O}, kOpStaff | kAuditor},
  {Operation::kReadComplianceReport,  {false, false, false, N, NP, O}, kOpStaff | kAuditor},
  {Operation::kRecordDeclaration,     {false, false, false, A, NP, O}, kOpAdmin},
  {Operation::kListDeclarations,      {false, false, false, N, NP, O}, kOpStaff | kAuditor},
  {Operation::kRecordExternalAudit,   {false, false, false, A, NP, O}, kOpAdmin},
  {Operation::kListExternalAudits,    {false, false, false, N, NP, O}, kOpStaff | kAuditor},
  {Operation::kReadTenant,            {true, false,  false, N, NP, I},   kOpAdmin | kAuditor | kTenantAdmin | kTenantApp},
  {Operation::kUpdateTenant,          {true, false,  true,  A, NP, O},   kOpAdmin},
  {Operation::kTerminateTenant,       {true, false,  false, A, NP, O},   kOpAdmin | kTenantAdmin},
  // Destroys the tenant's personal data wholesale, never reading or naming
  // any of it: its event names the tenant, its certificate the counts.
  {Operation::kDisposeTenant,         {true, false,  false, A, NP, O},   kOpAdmin | kTenantAdmin},
  {Operation::kReadLocations,         {true, false,  false, N, NP, O},   kOpAdmin | kAuditor | kTenantAdmin},
  {Operation::kCreateTenantIdentity,  {true, false, true,  A, NP, O},   kOpAdmin | kTenantAdmin, Plane::kControl, Action::kRead, false, false, Decision::Limit::kFirstAdminOnly},
  {Operation::kListTenantIdentities,  {true, false, false, N, NP, O},   kOpAdmin | kTenantAdmin},
  {Operation::kDeactivateTenantIdentity, {true, true , false, A, NP, O}, kTenantAdmin},
  {Operation::kRotateTenantIdentity,  {true, true , false, A, NP, O},   kTenantAdmin, Plane::kControl, Action::kRead, false, true},
  {Operation::kSetIdentityPolicy,     {true, true ,  true,  A, NP, O},   kTenantAdmin},
  {Operation::kListPurposes,          {true, false,  false, N, NP, O},   kOpAdmin | kAuditor | kTenantAdmin | kTenantApp},
  {Operation::kPutPurpose,            {true, false,  true,  A, NP, O},   kTenantAdmin},
  {Operation::kPutCollection,         {true, false,  true,  A, NP, O},   kTenantAdmin},
  {Operation::kReadCollection,        {true, false,  false, N, NP, O},   kTenantAdmin | kTenantApp},
  {Operation::kReadCertificates,      {true, false,  false, N, NP, O},   kOpAdmin | kAuditor | kTenantAdmin},
  {Operation::kReadTenantAudit,       {true, false,  false, N, NP, O},   kAuditor | kTenantAdmin},
  {Operation::kRequestLockbox,        {true, false,  false, A, NP, O},   kOpStaff},
  {Operation::kDecideLockbox,         {true, false,  false, A, NP, O},   kTenantAdmin},
  {Operation::kReadLockbox,           {true, false,  false, N, NP, O},   kOpStaff | kAuditor | kTenantAdmin, Plane::kControl, Action::kRead, false, false, Decision::Limit::kOwnRequestsOnly},
  {Operation::kRelocatePrincipal,     {true, false,  true,  A, P, O},   kTenantAdmin},
  {Operation::kListNotifications,     {true, false,  false, N, NP, O},   kTenantAdmin},
  // Not writes: a terminating tenant still needs its notices.
  {Operation::kPutWebhook,            {true, false,  false, A, NP, O},   kTenantAdmin},
  {Operation::kReadWebhook,           {true, false,  false, N, NP, O},   kTenantAdmin},
  {Operation::kDeleteWebhook,         {true, false,  false, A, NP, O},   kTenantAdmin},
  {Operation::kListTenantDisclosures, {true, false,  false, N, NP, O},   kTenantAdmin},
  // Not a write of the tenant's: a terminating tenant still has data in
  // its regions and is still told of changes, so it may still object.
  {Operation::kObjectToSubProcessor,  {true, false,  false, A, NP, O},   kTenantAdmin},
  {Operation::kReadConsents,          {true, false,  false, A, P, O},   kTenantAdmin | kTenantApp, Plane::kConsent, Action::kConsentRead},
  {Operation::kRecordConsent,         {true, false,  true,  A, P, O},   kTenantAdmin | kTenantApp, Plane::kConsent, Action::kConsentWrite},
  {Operation::kCreateRecord,          {true, false,  true,  A, P, O},   kTenantAdmin | kTenantApp, Plane::kData, Action::kWrite},
  {Operation::kReadRecord,            {true, false,  false, A, P, I},   kTenantAdmin | kTenantApp | kOpStaff, Plane::kData, Action::kRead, true},
  {Operation::kUpdateRecord,          {true, false,  true,  A, P, O},   kTenantAdmin | kTenantApp, Plane::kData, Action::kWrite},
  {Operation::kDeleteRecord,          {true, false,  true,  A, P, O},   kTenantAdmin | kTenantApp, Plane::kData, Action::kDelete},
  {Operation::kSearchRecords,         {true, false,  false, A, P, O},   kTenantAdmin | kTenantApp | kOpStaff, Plane::kData, Action::kSearch, true},
  {Operation::kTokenize,              {true, false,  false, A, P, I},   kTenantAdmin | kTenantApp, Plane::kData, Action::kTokenize},
  {Operation::kDetokenize,            {true, false,  false, A, P, O},   kTenantAdmin | kTenantApp, Plane::kData, Action::kDetokenize},
  {Operation::kReadPrincipal,         {true, false,  false, A, P, O},   kTenantAdmin | kTenantApp | kOpStaff, Plane::kData, Action::kRead, true},
  {Operation::kExportPrincipal,       {true, false,  false, A, P, O},   kTenantAdmin | kTenantApp, Plane::kData, Action::kExport},
  {Operation::kErasePrincipal,        {true, false,  true,  A, P, O},   kTenantAdmin | kTenantApp, Plane::kData, Action::kDelete},
  // Not writes: a terminating tenant exports its data (reads only).
  {Operation::kCreateExport,          {true, false,  false, A, P, O},   kTenantAdmin, Plane::kData, Action::kExport},
  {Operation::kGetExport,             {true, false,  false, A, NP, O},  kTenantAdmin},
  {Operation::kDownloadExport,        {true, false,  false, A, P, O},   kTenantAdmin, Plane::kData, Action::kExport},
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

// Personal data is always audited, and the data plane and the consent
// ledger are about data subjects by definition, so a new operation there
// cannot forget to say so.
constexpr bool PersonalDataAudited() {
  for (auto& row : kTable) {
    if (row.spec.personal_data && row.spec.audited != Audited::kAlways)
      return false;
    if (row.plane != Plane::kControl && !row.spec.personal_data) return false;
  }
  return true;
}
static_assert(PersonalDataAudited(),
              "personal data is audited; data and consent operations have it");

// A change waits for durable commits: never on an I/O thread.
constexpr bool ChangesOffloaded() {
  for (auto& row : kTable)
    if (row.spec.writes && row.spec.runs != Runs::kOffload) return false;
  return true;
}
static_assert(ChangesOffloaded(), "operations that write run offloaded");

// The purpose a legal disclosure reads under (a default purpose of every
// tenant, API.md "Purposes").
constexpr std::string_view kLegalPurpose = "legal_obligation";

const Row& RowOf(Operation op) { return kTable[static_cast<std::size_t>(op)]; }

// What an operation on `tenant` may do given the tenant's state.
Status TenantAllows(const Row& row, const vault::Tenant& tenant) {
  if (row.spec.writes && tenant.state != vault::TenantState::kActive)
    return PermissionDenied("the tenant is not active", "tenant_not_active");
  // From its crypto-shredding on, a disposed tenant has no personal data.
  if (row.spec.personal_data && tenant.state == vault::TenantState::kDisposed)
    return NotFound("the tenant's data was disposed of");
  return Status::Ok();
}

}  // namespace

const OperationSpec& Spec(Operation op) { return RowOf(op).spec; }

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

Status Decision::OutOfScope() const {
  return PermissionDenied(lockbox_ ? "outside the lockbox request's scope"
                                   : "outside the disclosure request's scope");
}

Result<FieldGrant> Decision::Fields(Action action,
                                    const vault::Collection& collection) const {
  if (scope_ && !scope_->Covers(collection.name)) return Err(OutOfScope());
  if (!policy_) return FieldGrant();
  std::vector<std::string> fields;
  fields.reserve(collection.fields.size());
  for (auto& f : collection.fields) fields.push_back(f.name);
  auto grant = policy_->Evaluate(action, purpose_ ? purpose_->id : "",
                                 collection.name, fields);
  if (!grant)
    return Err(PermissionDenied("no policy rule allows this request"));
  return FieldGrant(std::move(*grant));
}

std::optional<FieldGrant> Decision::FieldsIfAny(
    Action action, const vault::Collection& collection) const {
  auto grant = Fields(action, collection);
  if (!grant) return std::nullopt;
  return std::move(*grant);
}

Status Decision::RequireInScope(std::string_view principal) const {
  if (scope_ && !scope_->CoversPrincipal(principal)) return OutOfScope();
  return Status::Ok();
}

bool Decision::AllowsConsentPurpose(Action action,
                                    std::string_view purpose) const {
  return !policy_ || policy_->Allows(action, purpose);
}

Result<Decision> AccessDecider::Decide(const vault::RequestContext& context,
                                       const Caller& caller, Operation op,
                                       const Target& target) const {
  const Row& row = RowOf(op);
  const vault::Identity& who = caller.identity;
  const bool op_staff = vault::IsOperatorRole(who.role);
  const bool self = row.self && target.identity == who.id;
  if (!(row.roles & Bit(who.role)) && !self)
    return Err(PermissionDenied(
        op_staff && row.plane == Plane::kData
            ? "operator staff reach tenant data only by reading "
              "under an approved lockbox request"
            : "this identity's role may not do this"));
  if (row.spec.on_tenant && !op_staff && who.tenant != target.tenant)
    return Err(PermissionDenied("this identity belongs to another tenant"));
  const std::string_view tenant = target.tenant;

  Decision d;
  if (row.spec.on_tenant) {
    PV_ASSIGN_OR_RETURN(d.tenant_, vault_->tenants.Get(context, tenant));
    PV_RETURN_IF_ERROR(TenantAllows(row, *d.tenant_));
  }
  if (Bit(who.role) & kOpStaff) d.limit_ = row.staff_limit;
  if (who.role == Role::kTenantApp && row.plane != Plane::kControl) {
    PV_ASSIGN_OR_RETURN(d.policy_, policies_->Get(who.id, who.policy));
  }
  // Decided before the principal is looked up: a caller without a rule
  // must not learn even whether the principal exists.
  if (row.plane == Plane::kConsent && d.policy_ &&
      !d.policy_->AllowsAnyPurpose(row.action))
    return Err(PermissionDenied("no policy rule allows this request"));
  if (row.plane == Plane::kData)
    return DecideData(context, caller, op, std::move(d));
  return d;
}

Result<Decision> AccessDecider::DecideAbout(
    const vault::RequestContext& context, const Caller& caller, Operation op,
    std::string_view tenant,
    const compliance::DisclosureRequest* disclosure) const {
  const Row& row = RowOf(op);
  PV_ASSIGN_OR_RETURN(Decision d, Decide(context, caller, op, Target{}));
  PV_ASSIGN_OR_RETURN(d.tenant_, vault_->tenants.Get(context, tenant));
  PV_RETURN_IF_ERROR(TenantAllows(row, *d.tenant_));
  if (!disclosure) return d;
  if (disclosure->tenant != d.tenant_->id)
    return Err(Internal("the disclosure request is of another tenant"));
  // Like a lockbox: the request's scope, reads only, and a purpose the
  // processor has of its own here (the law's), never a consent purpose.
  if (row.spec.writes)
    return Err(PermissionDenied("a disclosure request allows reading only"));
  d.scope_ = disclosure->scope;
  auto purpose =
      vault_->tenants.GetPurpose(context, d.tenant_->id, kLegalPurpose);
  if (!purpose && purpose.error().code() == StatusCode::kNotFound)
    return Err(FailedPrecondition(
        "the tenant has no legal_obligation purpose to disclose under"));
  if (!purpose) return Err(purpose.error());
  if (vault::RequiresConsent(purpose->category))
    return Err(PermissionDenied(
        "a disclosure never reads under a marketing or advertising purpose"));
  d.purpose_ = std::move(*purpose);
  return d;
}

Result<Decision> AccessDecider::DecideData(const vault::RequestContext& context,
                                           const Caller& caller, Operation op,
                                           Decision d) const {
  const Row& row = RowOf(op);
  const vault::Identity& who = caller.identity;
  const std::string& tenant = d.tenant_->id;
  // Operator staff have no purpose of their own over tenant data: they read
  // only what the tenant approved, under a lockbox request.
  if (vault::IsOperatorRole(who.role)) {
    if (!row.lockbox)
      return Err(PermissionDenied("a lockbox allows reading only"));
    PV_ASSIGN_OR_RETURN(
        d.lockbox_,
        vault_->lockbox.Active(context, tenant, caller.lockbox, who.id));
    d.scope_ = d.lockbox_->scope;
  }
  if (caller.purpose.empty())
    return Err(InvalidArgument("the X-Purpose header is required",
                               "purpose_required"));
  auto purpose = vault_->tenants.GetPurpose(context, tenant, caller.purpose);
  if (!purpose && purpose.error().code() == StatusCode::kNotFound)
    return Err(InvalidArgument("the purpose is not defined for this tenant",
                               "unknown_purpose"));
  if (!purpose) return Err(purpose.error());
  d.purpose_ = std::move(*purpose);
  // Never marketing or advertising for the processor's own staff.
  if (d.lockbox_ && vault::RequiresConsent(d.purpose_->category))
    return Err(PermissionDenied(
        "a lockbox never covers a marketing or advertising purpose"));
  if (d.policy_ && !d.policy_->Allows(row.action, d.purpose_->id))
    return Err(PermissionDenied("no policy rule allows this request"));
  return d;
}

}  // namespace piivault::policy

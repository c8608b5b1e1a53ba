#include "compliance/controls.h"

#include <array>

namespace piivault::compliance {
namespace {

constexpr ControlKind C = ControlKind::kCode;
constexpr ControlKind O = ControlKind::kOrganizational;

// clang-format off
constexpr std::array<Control, 34> kControls{{
  {"A.2.1", "A.1.1", "Obligation to co-operate regarding PII principals' rights", C,
   "The controller's API gives principal access, correction, export (portability) and erasure."},
  {"A.3.1", "A.2.1", "Public cloud PII processor's purpose", C,
   "Data is processed only under purposes the tenant defines, named on every data-plane request; the operator has none of its own."},
  {"A.3.2", "A.2.2", "Public cloud PII processor's commercial use", C,
   "Marketing and advertising purposes need the principal's active consent; service purposes never consult consent."},
  {"A.5.1", "A.4.1", "Secure erasure of temporary files", C,
   "No plaintext temporary files: exports stream into sealed chunks in the control store."},
  {"A.6.1", "A.5.1", "PII disclosure notification", C,
   "Legal disclosure requests need a binding instrument; the tenant is notified unless prohibited, then when the non-disclosure period ends."},
  {"A.6.2", "A.5.2", "Recording of PII disclosures", C,
   "Each fulfilled disclosure records what, to whom, when and under which instrument, visible to the tenant."},
  {"A.8.1", "A.7.1", "Disclosure of sub-contracted PII processing", C,
   "The sub-processor register names services and countries; changes are announced to affected tenants before they take effect, who may object."},
  {"A.10.1", "A.9.1", "Notification of a data breach involving PII", C,
   "The incident register flags PII breaches, resolves affected tenants and tracks each notice against its deadline."},
  {"A.10.2", "A.9.2", "Retention period for administrative security policies and guidelines", O,
   "The operator declares the retention period of its policy documents (default 5 years)."},
  {"A.10.3", "A.9.3", "PII return, transfer and disposal", C,
   "Signed tenant exports, encrypted transfer, the termination lifecycle, crypto-shredding with signed erasure and disposal certificates."},
  {"A.11.1", "A.10.1", "Confidentiality or non-disclosure agreements", O,
   "The operator declares the confidentiality agreements of its staff."},
  {"A.11.2", "A.10.2", "Restriction of the creation of hardcopy material", O,
   "The operator declares its hardcopy rules; the operator plane never produces reports containing PII."},
  {"A.11.3", "A.10.3", "Control and logging of data restoration", C,
   "A restore needs a reason and an operator identity and is recorded in the operator audit log."},
  {"A.11.4", "A.10.4", "Protecting data on storage media leaving the premises", C,
   "Everything at rest is ciphertext; backups are encrypted and signed."},
  {"A.11.5", "A.10.5", "Use of unencrypted portable storage media and devices", C,
   "No plaintext export to disk unless the tenant asks; transfers are encrypted to a recipient key."},
  {"A.11.6", "A.10.6", "Encryption of PII transmitted over public data-transmission networks", C,
   "TLS is required on every listener off loopback; webhooks go only to https (loopback excepted)."},
  {"A.11.7", "A.10.7", "Secure disposal of hardcopy materials", O,
   "The operator declares how hardcopy material is disposed of."},
  {"A.11.8", "A.10.8", "Unique use of user IDs", C,
   "One identity per person or application, each with its own API key; keys are never shared."},
  {"A.11.9", "A.10.9", "Records of authorized users", C,
   "The identity register keeps each identity's role, creation and deactivation time."},
  {"A.11.10", "A.10.10", "User ID management", C,
   "Identity ids are random and deactivated ids are never re-issued."},
  {"A.11.11", "A.10.11", "Contract measures", C,
   "The tenant record carries its contract terms (return period, notice periods), enforced by the lifecycle."},
  {"A.11.12", "A.10.12", "Sub-contracted PII processing", C,
   "Sub-processor entries carry their contract reference and the regions they touch."},
  {"A.11.13", "A.10.13", "Access to data on pre-used data storage space", C,
   "Per-tenant keys, crypto-shredding and SQLite secure_delete: a new tenant can never decrypt old bytes."},
  {"A.12.1", "A.11.1", "Geographical location of PII", C,
   "Regions are pinned to countries with a backend each; the locations report includes sub-processor countries."},
  {"A.12.2", "A.11.2", "Intended destination of PII", C,
   "Transfers go only to authenticated destinations; relocation only to the tenant's allowed regions, audited."},
  {"9.2.1", "9.2.1", "User registration and de-registration", C,
   "The identity lifecycle revokes a key at once on deactivation or rotation."},
  {"9.4.2", "9.4.2", "Secure log-on", C,
   "API keys are stored as keyed digests, compared in constant time, and failed attempts are rate limited."},
  {"10.1.1", "10.1.1", "Cryptographic controls", C,
   "A documented key hierarchy: master key, tenant keys, principal keys, AES-256-GCM, Ed25519 signatures."},
  {"12.3.1", "12.3.1", "Information backup", C,
   "Backups are encrypted and signed; the erasure register is re-applied at restore."},
  {"12.4.1", "12.4.1", "Event logging", C,
   "Every PII access is logged with actor, purpose and outcome; each tenant reads its own log."},
  {"12.4.2", "12.4.2", "Protection of log information", C,
   "Logs hold pseudonyms, never PII, in a Merkle tree with signed heads, verified live."},
  {"13.2.1", "13.2.1", "Information transfer", C,
   "Transfers (exports, disclosures) are recorded and encrypted."},
  {"16.1.1", "16.1.1", "Management of information security incidents and improvements", C,
   "The incident register with breach review and the tenants' notices."},
  {"18.2.1", "18.2.1", "Independent review of information security", C,
   "The register of external audits and certificates, an annual cycle, and this evidence export."},
}};
// clang-format on

}  // namespace

std::span<const Control> Controls() { return kControls; }

const Control* FindControl(std::string_view id) {
  for (const Control& c : kControls)
    if (c.id == id) return &c;
  return nullptr;
}

}  // namespace piivault::compliance

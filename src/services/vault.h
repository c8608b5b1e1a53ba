// Every service of one deployment, over its stores, wired together: the
// vault's (tenants, identities, collections, records, consents), compliance's
// (the lockbox, legal disclosure requests, the sub-processor and incident
// registers, the outbox and the tenants' webhooks) and lifecycle's
// (relocation, erasure, the scheduler of timed work with a handler for each
// job kind).
#pragma once

#include <memory>

#include "base/clock.h"
#include "compliance/audit_register.h"
#include "compliance/declarations.h"
#include "compliance/disclosure.h"
#include "compliance/incidents.h"
#include "compliance/lockbox.h"
#include "compliance/outbox.h"
#include "compliance/soa.h"
#include "compliance/sub_processors.h"
#include "compliance/webhook_registry.h"
#include "crypto/keyring.h"
#include "lifecycle/disposal.h"
#include "lifecycle/erasure.h"
#include "lifecycle/relocation.h"
#include "lifecycle/retention.h"
#include "lifecycle/scheduler.h"
#include "lifecycle/tenant_export.h"
#include "lifecycle/termination.h"
#include "storage/region_router.h"
#include "vault/collections.h"
#include "vault/consents.h"
#include "vault/control_store.h"
#include "vault/identities.h"
#include "vault/records.h"
#include "vault/tenants.h"

namespace piivault::services {

struct Vault {
  // REQUIRES: all pointers outlive this.
  Vault(storage::RegionRouter* router, crypto::Keyring* keyring,
        const Clock* clock);

  // Registers the job kinds that write to the audit log (`audit`: where
  // each retention disposal and each tenant disposal run by the scheduler
  // is recorded), creating the retention service. Without it, those jobs
  // are left to nodes that have it. REQUIRES: `audit` outlives this; once,
  // before the scheduler runs jobs.
  void EnableAuditedJobs(audit::AuditLog* audit,
                         lifecycle::RetentionOptions options);

  vault::ControlStore control;
  vault::TenantService tenants;
  vault::IdentityService identities;
  vault::CollectionService collections;
  vault::RecordService records;
  vault::ConsentService consents;
  lifecycle::RelocationService relocations;
  compliance::LockboxService lockbox;
  compliance::Outbox outbox;
  compliance::WebhookRegistry webhooks;
  compliance::DisclosureService disclosures;
  compliance::SubProcessorService sub_processors;
  compliance::IncidentService incidents;
  compliance::DeclarationService declarations;
  compliance::AuditRegister external_audits;
  lifecycle::ErasureService erasures;
  lifecycle::TerminationService terminations;
  lifecycle::TenantExportService exports;
  lifecycle::DisposalService disposals;
  storage::RegionRouter* router;
  const Clock* clock;
  // The listeners `serve` runs with (the SoA's A.11.6 evidence); set from
  // the config before serving, empty when not serving.
  std::vector<compliance::ListenerSettings> listeners;
  std::unique_ptr<lifecycle::RetentionService> retention;  // once enabled
  // Last: its loop (started by `serve`) stops before the services its
  // handlers use are destroyed.
  lifecycle::Scheduler scheduler;
};

}  // namespace piivault::services

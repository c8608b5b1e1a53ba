// What one request carries down through the services, passed explicitly
// (never kept in a thread-local): the audit event it builds, the write-ahead
// that makes that event durable before the request's first change, and the
// control-store epoch its reads may be cached at.
//
// The API layer owns the request (its identity, the access decision with the
// tenant, purpose and lockbox, its id); this is the part services use. A
// default-constructed context is work on no request's behalf (recovery, the
// scheduler, tools, tests): nothing is noted, written ahead or cached.
//
// Thread safety: belongs to one request.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "audit/event.h"
#include "storage/backend.h"

namespace piivault::vault {

// The control epoch a request's control-store reads may be cached at: read
// once when the request starts; a request that itself changes cached
// documents stops trusting it (ControlStore).
struct ControlEpoch {
  std::string value;
  bool valid = false;
};

class RequestContext {
 public:
  // No request.
  RequestContext() = default;
  // REQUIRES: each non-null pointer outlives this.
  RequestContext(audit::Event* event, storage::WriteAhead* write_ahead,
                 ControlEpoch* control_epoch)
      : event_(event),
        write_ahead_(write_ahead),
        control_epoch_(control_epoch) {}

  // A batch of this request's changes: its write-ahead runs first.
  storage::WriteBatch Batch() const {
    return storage::WriteBatch(write_ahead_);
  }

  // What the request touched, for its audit event: ids, the principal's
  // pseudonym, the region, field names; never a value.
  void NoteRecord(std::string_view id) const {
    if (event_) event_->NoteRecord(id);
  }
  void NotePrincipal(std::string_view pseudonym) const {
    if (event_) event_->NotePrincipal(pseudonym);
  }
  void NoteRegion(std::string_view region) const {
    if (event_ && !region.empty()) event_->region = region;
  }
  void NoteFields(const std::vector<std::string>& fields) const {
    if (event_) event_->NoteFields(fields);
  }

  ControlEpoch* control_epoch() const { return control_epoch_; }

 private:
  audit::Event* event_ = nullptr;
  storage::WriteAhead* write_ahead_ = nullptr;
  ControlEpoch* control_epoch_ = nullptr;
};

}  // namespace piivault::vault

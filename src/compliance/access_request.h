// What lockbox and legal disclosure requests share (ISO/IEC 27018 A.6.1,
// A.11.9): a request by one identity for scoped access to a tenant's data,
// an independent decision by another identity stored by compare-and-set,
// and the scope the access decision (policy/access.h) holds the reader to.
// LockboxService and DisclosureService are built on these pieces, so the two
// cannot drift apart on what "in scope" or "independent" means.
//
// Thread safety: RequestScope is a value; the functions are stateless.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "vault/control_store.h"
#include "vault/request_context.h"

namespace piivault::compliance {

// The records of the listed principals in the listed collections. Each list
// is explicit: ["*"] means all (every collection of the tenant, every
// principal of those collections), and an empty list covers nothing.
struct RequestScope {
  static constexpr std::string_view kAll = "*";
  static constexpr std::size_t kMaxEntries = 100;
  std::vector<std::string> collections;
  std::vector<std::string> principals;
  bool Covers(std::string_view collection) const;
  bool CoversPrincipal(std::string_view principal) const;
};

// Checks an explicit scope of `tenant`: validation_failed (field "scope")
// for more than kMaxEntries entries in a list, "*" next to other entries, a
// collection the tenant does not have or a malformed principal id.
Status ValidateScope(const vault::RequestContext& context,
                     vault::ControlStore& control, std::string_view tenant,
                     const RequestScope& scope);

// The four-eyes rule: permission_denied when the identity deciding a
// request is the one that made it.
Status RequireIndependent(std::string_view requested_by,
                          std::string_view decided_by);

// Reads the request stored under `key` (not_found saying `what` when there
// is none), lets `decide` check and change it and add what belongs to the
// decision to the same batch (a notice, a job), and writes it back under
// compare-and-set on the bytes read: of two racing decisions exactly one is
// stored, the other gets kAborted and nothing of it is written. Returns the
// request as stored.
template <typename T>
struct StoredCodec {
  std::function<Result<T>(const boost::json::value&)> decode;
  std::function<boost::json::value(const T&)> encode;
};
template <typename T>
Result<T> DecideStored(
    const vault::RequestContext& context, vault::ControlStore& control,
    const std::string& key, std::string_view what, const StoredCodec<T>& codec,
    const std::function<Status(T&, storage::WriteBatch&)>& decide) {
  PV_ASSIGN_OR_RETURN(auto raw, control.GetRaw(key));
  if (!raw) return Err(NotFound("no such " + std::string(what)));
  PV_ASSIGN_OR_RETURN(auto doc, control.Decode(key, *raw));
  PV_ASSIGN_OR_RETURN(T request, codec.decode(doc));
  storage::WriteBatch batch = context.Batch();
  PV_RETURN_IF_ERROR(decide(request, batch));
  batch.RequireValue(key, *raw);
  control.Put(batch, key, codec.encode(request));
  Status written = control.Write(context, batch);
  if (written.code() == StatusCode::kAborted)
    return Err(
        Aborted("the " + std::string(what) + " changed concurrently; retry"));
  PV_RETURN_IF_ERROR(written);
  return request;
}

}  // namespace piivault::compliance

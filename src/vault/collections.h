// Collection schemas: typed fields, which are required and which searchable.
// Thread safety: thread-safe.
#pragma once

#include <string>
#include <vector>

#include "base/clock.h"
#include "vault/control_store.h"
#include "vault/model.h"
#include "vault/request_context.h"

namespace piivault::vault {

class CollectionService {
 public:
  // REQUIRES: both pointers outlive this.
  CollectionService(ControlStore* control, const Clock* clock)
      : control_(control), clock_(clock) {}

  struct PutResult {
    Collection collection;
    bool created = false;
  };
  // Creates the collection, or evolves it: fields may be added and
  // `required` may change, but an existing field keeps its type and its
  // searchable flag and is never dropped (records already hold it, encrypted
  // and indexed under those rules) — such changes are kFailedPrecondition.
  Result<PutResult> Put(const RequestContext& context, std::string_view tenant,
                        std::string name, std::vector<FieldSpec> fields,
                        std::string retention);
  Result<Collection> Get(const RequestContext& context, std::string_view tenant,
                         std::string_view name);
  Result<std::vector<Collection>> List(std::string_view tenant);

 private:
  ControlStore* control_;
  const Clock* clock_;
};

}  // namespace piivault::vault

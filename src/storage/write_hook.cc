#include "storage/write_hook.h"

namespace piivault::storage {

Status WriteAhead::Run() {
  // A failure is kept, so that no later batch of the request slips through
  // unaudited after the first one was refused.
  if (!result_) result_ = action_();
  return *result_;
}

}  // namespace piivault::storage

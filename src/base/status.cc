#include "base/status.h"

#include <iterator>

namespace piivault {

namespace {

// Indexed by StatusCode. A reason on a Status must be one of the codes that
// API.md lists for its row's HTTP status (e.g. consent_required, 403).
constexpr ErrorContract kContract[] = {
    {StatusCode::kOk, "ok", 200, ""},
    {StatusCode::kInvalidArgument, "invalid_argument", 400, ""},
    {StatusCode::kNotFound, "not_found", 404, ""},
    {StatusCode::kAlreadyExists, "already_exists", 409, ""},
    {StatusCode::kPermissionDenied, "permission_denied", 403, ""},
    {StatusCode::kUnauthenticated, "unauthenticated", 401, ""},
    {StatusCode::kFailedPrecondition, "failed_precondition", 409, ""},
    {StatusCode::kAborted, "conflict", 409, ""},
    {StatusCode::kResourceExhausted, "rate_limited", 429, ""},
    {StatusCode::kUnavailable, "unavailable", 503, ""},
    // A ciphertext that did not authenticate: the client learns no more
    // than that, as any other server-side failure.
    {StatusCode::kDataLoss, "internal", 500, "integrity error: "},
    {StatusCode::kInternal, "internal", 500, ""},
};

constexpr bool EveryCodeInItsRow() {
  for (std::size_t i = 0; i < std::size(kContract); ++i)
    if (static_cast<std::size_t>(kContract[i].code) != i) return false;
  return std::size(kContract) ==
         static_cast<std::size_t>(StatusCode::kInternal) + 1;
}
static_assert(EveryCodeInItsRow());

}  // namespace

const ErrorContract& ContractOf(StatusCode code) {
  return kContract[static_cast<std::size_t>(code)];
}

std::string_view Status::error_code() const {
  return reason_.empty() ? ContractOf(code_).error_code
                         : std::string_view(reason_);
}

std::string Status::public_message() const {
  return std::string(ContractOf(code_).message_prefix) + message_;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(error_code());
  out += ": ";
  out += public_message();
  if (!field_.empty()) out += " (field " + field_ + ")";
  return out;
}

}  // namespace piivault

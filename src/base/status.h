// Errors as values: Status carries an Abseil-style code, an API reason
// (the snake_case error code of the HTTP contract) and a safe message.
//
// Messages are shown to API clients and written to logs, so they must never
// contain PII or secrets: describe *what* failed, never echo a value.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace piivault {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kUnauthenticated,
  kFailedPrecondition,
  kAborted,  // compare-and-set lost, or a conflicting state
  kResourceExhausted,
  kUnavailable,
  kDataLoss,  // integrity failure: ciphertext did not authenticate
  kInternal,
};

// The error contract of the HTTP API (API.md -> Conventions), one row per
// code: the snake_case error code a client sees when the Status names no
// reason of its own, the HTTP status, and what the message is prefixed
// with. The one table of it: api/ answers from it and Status::ToString()
// (the CLI's and the logs' errors) names codes by it.
struct ErrorContract {
  StatusCode code;
  std::string_view error_code;
  int http_status;
  std::string_view message_prefix;
};
const ErrorContract& ContractOf(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string reason = {},
         std::string field = {})
      : code_(code),
        message_(std::move(message)),
        reason_(std::move(reason)),
        field_(std::move(field)) {}

  // Lets PV_RETURN_IF_ERROR / PV_ASSIGN_OR_RETURN work in functions that
  // return a plain Status as well as in those returning Result<T>.
  Status(std::unexpected<Status> error)  // NOLINT(runtime/explicit)
      : Status(std::move(error).error()) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The API error code ("purpose_required", ...); empty means "derive from
  // code()".
  const std::string& reason() const { return reason_; }
  // The contract's error code: the reason, or else the code's (ContractOf).
  std::string_view error_code() const;
  // The message as a client sees it, with the contract's prefix.
  std::string public_message() const;
  // Name of the offending field for validation errors (a schema name, never a
  // value).
  const std::string& field() const { return field_; }

  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string reason_;
  std::string field_;
};

inline Status InvalidArgument(std::string msg, std::string reason = {}) {
  return Status(StatusCode::kInvalidArgument, std::move(msg),
                std::move(reason));
}
inline Status ValidationFailed(std::string field, std::string msg) {
  return Status(StatusCode::kInvalidArgument, std::move(msg),
                "validation_failed", std::move(field));
}
inline Status NotFound(std::string msg) {
  return Status(StatusCode::kNotFound, std::move(msg));
}
inline Status AlreadyExists(std::string msg) {
  return Status(StatusCode::kAlreadyExists, std::move(msg));
}
inline Status PermissionDenied(std::string msg, std::string reason = {}) {
  return Status(StatusCode::kPermissionDenied, std::move(msg),
                std::move(reason));
}
inline Status Unauthenticated(std::string msg) {
  return Status(StatusCode::kUnauthenticated, std::move(msg));
}
inline Status FailedPrecondition(std::string msg) {
  return Status(StatusCode::kFailedPrecondition, std::move(msg));
}
inline Status Aborted(std::string msg) {
  return Status(StatusCode::kAborted, std::move(msg));
}
inline Status Unavailable(std::string msg) {
  return Status(StatusCode::kUnavailable, std::move(msg));
}
inline Status DataLoss(std::string msg) {
  return Status(StatusCode::kDataLoss, std::move(msg));
}
inline Status Internal(std::string msg) {
  return Status(StatusCode::kInternal, std::move(msg));
}

// Result<T> holds a value or a non-OK Status.
template <typename T>
using Result = std::expected<T, Status>;

inline std::unexpected<Status> Err(Status s) {
  return std::unexpected<Status>(std::move(s));
}

namespace internal {
inline Status ToStatus(const Status& s) { return s; }
template <typename T>
Status ToStatus(const Result<T>& r) {
  return r.has_value() ? Status() : r.error();
}
}  // namespace internal

}  // namespace piivault

// Returns early with the error of a Status or Result expression.
#define PV_RETURN_IF_ERROR(expr)                                          \
  do {                                                                    \
    ::piivault::Status pv_status_ = ::piivault::internal::ToStatus(expr); \
    if (!pv_status_.ok()) return ::piivault::Err(std::move(pv_status_));  \
  } while (0)

#define PV_CONCAT_INNER(a, b) a##b
#define PV_CONCAT(a, b) PV_CONCAT_INNER(a, b)

// PV_ASSIGN_OR_RETURN(auto x, MakeX()); declares x from a Result or returns
// its error.
#define PV_ASSIGN_OR_RETURN(decl, expr) \
  PV_ASSIGN_OR_RETURN_IMPL(PV_CONCAT(pv_result_, __LINE__), decl, expr)
#define PV_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr)                       \
  auto tmp = (expr);                                                    \
  if (!tmp.has_value()) return ::piivault::Err(std::move(tmp).error()); \
  decl = std::move(tmp).value()

#include "base/status.h"

#include <gtest/gtest.h>

namespace piivault {
namespace {

// API.md -> Conventions: the HTTP status and error code of each code.
TEST(ErrorContractTest, EachCodeAnswersAsTheContractSays) {
  struct Row {
    StatusCode code;
    int http_status;
    std::string_view error_code;
  };
  for (Row row :
       {Row{StatusCode::kInvalidArgument, 400, "invalid_argument"},
        Row{StatusCode::kUnauthenticated, 401, "unauthenticated"},
        Row{StatusCode::kPermissionDenied, 403, "permission_denied"},
        Row{StatusCode::kNotFound, 404, "not_found"},
        Row{StatusCode::kAlreadyExists, 409, "already_exists"},
        Row{StatusCode::kAborted, 409, "conflict"},
        Row{StatusCode::kFailedPrecondition, 409, "failed_precondition"},
        Row{StatusCode::kResourceExhausted, 429, "rate_limited"},
        Row{StatusCode::kUnavailable, 503, "unavailable"},
        Row{StatusCode::kDataLoss, 500, "internal"},
        Row{StatusCode::kInternal, 500, "internal"}}) {
    SCOPED_TRACE(row.error_code);
    EXPECT_EQ(ContractOf(row.code).code, row.code);
    EXPECT_EQ(ContractOf(row.code).http_status, row.http_status);
    Status s(row.code, "what failed");
    EXPECT_EQ(s.error_code(), row.error_code);
  }
}

TEST(ErrorContractTest, AReasonIsTheErrorCode) {
  EXPECT_EQ(PermissionDenied("no consent", "consent_required").error_code(),
            "consent_required");
  EXPECT_EQ(ValidationFailed("email", "not an e-mail address").error_code(),
            "validation_failed");
  EXPECT_EQ(PermissionDenied("no").error_code(), "permission_denied");
}

// The CLI and the logs name an error as a client sees it: the same table.
TEST(ErrorContractTest, ToStringNamesTheContractCode) {
  EXPECT_EQ(NotFound("no such tenant").ToString(), "not_found: no such tenant");
  EXPECT_EQ(ValidationFailed("email", "not an e-mail address").ToString(),
            "validation_failed: not an e-mail address (field email)");
  EXPECT_EQ(DataLoss("the field does not open").public_message(),
            "integrity error: the field does not open");
  EXPECT_EQ(DataLoss("the field does not open").ToString(),
            "internal: integrity error: the field does not open");
  EXPECT_EQ(Status::Ok().ToString(), "ok");
}

}  // namespace
}  // namespace piivault

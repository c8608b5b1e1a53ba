// Declarations of the operator about its organizational controls (ISO/IEC
// 27018 controls about paper, people or contracts: confidentiality
// agreements, hardcopy rules, the retention period of policy documents),
// recorded with who made them and when. The Statement of Applicability
// shows an organizational control with its newest declaration; a
// declaration can only be made about an organizational control, so none
// can make a control look implemented by code.
//
// The text is the operator's statement about its own organization: free
// text that must not hold personal data.
//
// Thread safety: thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "vault/control_store.h"
#include "vault/request_context.h"

namespace piivault::compliance {

struct Declaration {
  std::string id;       // "dcl_…"
  std::string control;  // 2019 id (compliance/controls.h)
  std::string text;
  std::string by;  // operator identity id
  TimePoint at;
};

// As the API shows it: {"id","control","text","by","at"(RFC 3339)}.
boost::json::object DeclarationJson(const Declaration& declaration);

class DeclarationService {
 public:
  // REQUIRES: both pointers outlive this.
  DeclarationService(vault::ControlStore* control, const Clock* clock)
      : control_(control), clock_(clock) {}

  // Records a declaration. validation_failed "control" unless it names an
  // organizational control of the catalogue; "text" unless it is free text
  // of 1..4096 characters (vault::ValidateFreeText).
  Result<Declaration> Record(const vault::RequestContext& context,
                             std::string control, std::string text,
                             std::string_view by);
  // Every declaration, oldest first.
  Result<std::vector<Declaration>> List();

 private:
  vault::ControlStore* control_;
  const Clock* clock_;
};

}  // namespace piivault::compliance

// The catalogue of ISO/IEC 27018:2019 controls the Statement of
// Applicability reports (compliance/soa.h). It mirrors, row for row, the
// team's control list (ISO27018.md: the Annex A extended controls and the
// ISO/IEC 27002 controls with PII-specific guidance), each control exactly
// once: its 2019 id exactly as written there ("A.12.1", "12.4.1"), its 2014
// id (one less at section level in Annex A; the 27002 numbering did not
// change), the standard's title, whether it applies, how piivault meets it
// and which kind of control it is. The list's row "12.1.4 / 12.3.1
// Information backup" is the one control 12.3.1 (information backup).
//
// A control's kind decides what the SoA may say of it: only kCode controls
// can be "implemented"; organizational ones are shown with what the operator
// declared (compliance/declarations.h), never as implemented by code.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace piivault::compliance {

enum class ControlKind {
  kCode,            // piivault implements it; evidence is read live
  kOrganizational,  // paper, people or contracts: the operator declares it
  kNotApplicable,   // does not apply to this processor
};

struct Control {
  std::string_view id;       // 2019 numbering
  std::string_view id_2014;  // 2014 numbering
  std::string_view title;
  ControlKind kind;
  std::string_view implementation;  // one sentence: how piivault meets it

  bool applicable() const { return kind != ControlKind::kNotApplicable; }
};

// Every control, in the order of ISO27018.md.
std::span<const Control> Controls();
// The control with 2019 id `id`, or nullptr.
const Control* FindControl(std::string_view id);

}  // namespace piivault::compliance

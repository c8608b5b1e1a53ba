// A Clock that stands still at `now` until the test moves it. Header-only:
// needs pv_base, which every test that includes it links.
#pragma once

#include "base/clock.h"

namespace piivault::testing {

class FixedClock final : public Clock {
 public:
  TimePoint Now() const override { return now; }
  TimePoint now = FromUnixMicros(1'800'000'000'000'000);
};

}  // namespace piivault::testing

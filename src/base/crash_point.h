// Fault injection for crash-recovery tests: CrashPoint("x") kills the process
// with SIGKILL, exactly as `kill -9` would, when the environment variable
// PIIVAULT_CRASH_AT is "x". Unset (always, outside tests) it does nothing.
#pragma once

#include <string_view>

namespace piivault {

void CrashPoint(std::string_view point);

}  // namespace piivault

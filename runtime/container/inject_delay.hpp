// A deliberate slowdown of Container::create, for measuring ctbench's regression gate only
// (scripts/gating-quality.sh sets it; nothing else does and no user should).
// CTBENCH_INJECT_CREATE_DELAY_PCT=P makes create spin for P % of the time it took itself, so the
// create path is (100 + P) % as slow. Unset, empty or invalid: no delay, one getenv per create.
#pragma once

#include <chrono>

namespace ctb::container {

void inject_create_delay(std::chrono::steady_clock::time_point started);

}  // namespace ctb::container

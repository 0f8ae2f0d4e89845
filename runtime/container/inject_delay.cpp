#include "runtime/container/inject_delay.hpp"

#include <cstdlib>
#include <string>

namespace ctb::container {

void inject_create_delay(std::chrono::steady_clock::time_point started) {
    const char* value = std::getenv("CTBENCH_INJECT_CREATE_DELAY_PCT");
    if (!value || !*value) return;
    char* end = nullptr;
    double pct = std::strtod(value, &end);
    if (*end != '\0' || !(pct > 0) || pct > 1000) return;
    auto now = std::chrono::steady_clock::now();
    auto until = now + (now - started) * pct / 100;
    // Spin rather than sleep: a slower create path costs CPU time, as a real regression would.
    while (std::chrono::steady_clock::now() < until) {
    }
}

}  // namespace ctb::container

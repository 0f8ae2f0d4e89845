// clone3(2) for the floors of the start benches: a child in the namespaces `flags` name, nothing
// else (no library, no runtime), so what remains is what the kernel itself charges.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/error.hpp"

namespace ctb::bench {

// clone3 with `flags` and SIGCHLD; the child runs `child` and _exits with its result; the caller
// waits for it. Returns the wait status. `what` names the clone in an error.
Result<int> clone3_and_wait(std::uint64_t flags, const std::function<int()>& child, const std::string& what);

}  // namespace ctb::bench

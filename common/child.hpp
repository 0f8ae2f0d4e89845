// Run a function in a forked child and collect the text it returns, with a deadline.
// Probes use this to try things that change process state (unshare, mounts in a private mount
// namespace): whatever the child creates dies with it, so a probe can never leak onto the host.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/error.hpp"

namespace ctb {

// The child runs `body` and its returned string reaches the parent. If the child crashes, is
// killed at the deadline (by pid), or exits without a result, the parent gets an Error.
// The caller must be single-threaded (fork only duplicates the calling thread).
Result<std::string> run_in_child(const std::function<std::string()>& body,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace ctb

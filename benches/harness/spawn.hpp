// Helpers for benchmarks that drive other programs: locate ctbench's own executables, and run a
// command to completion with stdio on /dev/null (spawning is part of what is measured).
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace ctb::bench {

// ctbench-runtime: $CTBENCH_RUNTIME, next to the running executable, the build tree, then PATH.
Result<std::string> find_ctbench_runtime();

// Runs argv (argv[0] absolute) and waits; a non-zero exit is an Error carrying the output tail.
// With max_rss_kib: the peak resident set of the process (wait4's ru_maxrss, in KiB; it covers
// the descendants it waited for, e.g. a container init cloned from it).
Status run_quietly(const std::vector<std::string>& argv, long* max_rss_kib = nullptr);

}  // namespace ctb::bench

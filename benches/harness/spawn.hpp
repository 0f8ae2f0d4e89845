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
Status run_quietly(const std::vector<std::string>& argv);

}  // namespace ctb::bench

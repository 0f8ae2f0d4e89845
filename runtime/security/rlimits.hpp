// Resource limits (OCI process.rlimits, setrlimit(2)) and the OOM score (process.oomScoreAdj).
// Both run first in the container's init, while it is still root: raising a hard limit or
// lowering oom_score_adj needs CAP_SYS_RESOURCE, which the later capability step may drop.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::security {

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE, for all 16 Linux limits; unknown names are an error.
Result<int> rlimit_resource(const std::string& name);

// Validates the list without changing anything: every type known, soft <= hard, no type twice
// (the runtime-spec requires an error for duplicates). Errors name "process.rlimits[i]".
Status check_rlimits(const std::vector<spec::Rlimit>& rlimits);

// check_rlimits, then setrlimit for each entry. UINT64_MAX means RLIM_INFINITY.
Status apply_rlimits(const std::vector<spec::Rlimit>& rlimits);

// Writes /proc/<pid>/oom_score_adj; pid 0 means the caller (/proc/self), which is what the
// container's init should use: its own pid may be 1 in a pid namespace that /proc does not show.
// value must lie in [-1000, 1000].
Status set_oom_score_adj(pid_t pid, int value);

}  // namespace ctb::security

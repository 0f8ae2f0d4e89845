// Process security for the container's init: the last thing it does before execve.
//
// apply_process_security runs, in this order:
//   0. prepare: parse capabilities, check rlimits and oomScoreAdj, build the seccomp filter.
//      Nothing changes yet, so a bad config.json fails with the process untouched.
//   1. rlimits            while still root: raising a hard limit needs CAP_SYS_RESOURCE
//   2. oom_score_adj      same reason: lowering it needs CAP_SYS_RESOURCE
//   3. user/groups + capabilities, as one dance (capabilities.hpp explains its order)
//   4. no_new_privs       if process.noNewPrivileges
//   5. seccomp            last, so only execve itself runs under the filter, with least privilege
// Loading a filter needs no_new_privs or CAP_SYS_ADMIN. With noNewPrivileges, or when the final
// effective set keeps CAP_SYS_ADMIN, step 5 is last as shown. Otherwise (no no_new_privs and
// CAP_SYS_ADMIN dropped, the common non-privileged container) the filter is loaded between 2 and
// 3, while CAP_SYS_ADMIN is still held, as runc and crun do; setting no_new_privs ourselves is not
// an option, since it would stop setuid programs the user expects to work. The profile must then
// allow what step 3 calls (setgroups, setresgid, setresuid, prctl, capset); Docker's and ours do.
#pragma once

#include <optional>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::security {

// prctl(PR_SET_NO_NEW_PRIVS, 1): execve can no longer grant privileges (setuid bits, file caps).
Status set_no_new_privileges();

// The one entry point for the container's init; see above for the order.
Status apply_process_security(const spec::Process& process, const std::optional<spec::Seccomp>& seccomp);

}  // namespace ctb::security

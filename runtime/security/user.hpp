// The container process's identity: supplementary groups, gid, uid and umask (OCI process.user).
// Runs in the container's init after clone, as root of the container's user namespace.
#pragma once

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::security {

// setgroups(additionalGids), setresgid(gid), setresuid(uid), then umask if given.
// Groups and gid come first because changing them needs CAP_SETGID, which a non-root uid has
// lost. When the uid leaves 0 the kernel empties the permitted capability set unless
// PR_SET_KEEPCAPS is on: apply_identity_and_capabilities (capabilities.hpp) wraps this call
// in exactly that, so call this one directly only when capabilities are left untouched.
Status apply_user(const spec::User& user);

}  // namespace ctb::security

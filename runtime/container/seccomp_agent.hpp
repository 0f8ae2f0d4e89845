// SCMP_ACT_NOTIFY's runtime half (config-linux.md#seccomp, runc's protocol): the container's init
// loads its filter with a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER) before it reports ready and
// sends the listener fd over the sync channel; the runtime connects to linux.seccomp.listenerPath
// and sends the container process state with that fd attached (SCM_RIGHTS), then closes its
// copy. The agent answers the notifications (SECCOMP_IOCTL_NOTIF_RECV / _SEND).
//
// The container process state, one JSON document (config-linux.md#containerprocessstate):
//   {"ociVersion": ..., "fds": ["seccompFd"], "pid": <init's host pid>,
//    "metadata": linux.seccomp.listenerMetadata, "state": <the OCI state, status "creating">}
#pragma once

#include <sys/types.h>

#include <string>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::container {

// Errors name linux.seccomp.listenerPath (an unreachable agent fails the create).
Status send_to_seccomp_agent(const spec::Seccomp& seccomp, pid_t pid, const std::string& state_json, int listener_fd);

}  // namespace ctb::container

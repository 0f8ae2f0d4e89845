// The last steps before a container process runs, shared by the init and by exec: enter the
// working directory (refusing one outside the root), close every inherited descriptor on exec,
// apply process security, execve. It only returns on failure, with the step that failed.
#pragma once

#include <string>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::container {

// process.args[0] as execve will run it: a name without '/' is searched in the PATH of
// process.env (the usual default when it has none), a relative path is taken from process.cwd.
// Called inside the container's root before the init reports "ready", so a missing binary fails
// `create` (as runc's LookPath does) instead of an already created container.
// ENOENT when nothing is found, EACCES when only non-executable files are.
Result<std::string> resolve_executable(const spec::Process& process);

// The process's context short of exec: its cwd, no runtime descriptor surviving exec, its
// rlimits, identity, capabilities, noNewPrivileges and (unless seccomp_loaded) seccomp filter.
Status enter_process_context(const spec::Spec& spec, const spec::Process& process, bool seccomp_loaded);

// `executable` is resolve_executable's answer ("" = resolve here). seccomp_loaded: the filter is
// in place already (hand_seccomp_listener_to_runtime), so process security leaves it out.
Error exec_container_process(const spec::Spec& spec, const spec::Process& process, const std::string& executable = "",
                             bool seccomp_loaded = false);

// SCMP_ACT_NOTIFY (seccomp_agent.hpp): loads the container's filter now, with a listener, and
// sends the listener over `sync_fd` ({"seccompFd": true} with the fd attached) for the runtime to
// hand to the seccomp agent. The system calls made after this (the rest of setup, the identity
// change, execve) run under the filter, as in runc. false (nothing done) without NOTIFY rules.
Result<bool> hand_seccomp_listener_to_runtime(const spec::Spec& spec, int sync_fd);

}  // namespace ctb::container

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

// `executable` is resolve_executable's answer ("" = resolve here).
Error exec_container_process(const spec::Spec& spec, const spec::Process& process, const std::string& executable = "");

}  // namespace ctb::container

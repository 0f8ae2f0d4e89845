// The last steps before a container process runs, shared by the init and by exec: enter the
// working directory (refusing one outside the root), close every inherited descriptor on exec,
// apply process security, execvp. It only returns on failure, with the step that failed.
#pragma once

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::container {

Error exec_container_process(const spec::Spec& spec, const spec::Process& process);

}  // namespace ctb::container

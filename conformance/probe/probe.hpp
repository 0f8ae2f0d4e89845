// The ctbench-probe helper (conformance/probe/ctbench-probe.cpp) as an image layer: the cases
// that need a system call the agent does not make (ptrace, process_vm_readv, an abstract unix
// socket, keyctl search, syslog, RLIMIT_CORE) add this layer and run kProbe inside.
#pragma once

#include <string>
#include <vector>

#include "conformance/harness/kit.hpp"

namespace ctb::conformance {

inline constexpr const char* kProbe = "/usr/local/bin/ctbench-probe";

// scratch/<name>/usr/local/bin/ctbench-probe (root-owned, 0755): a directory for
// RunRequest::extra_layers. A SetupError when it cannot be written.
std::string probe_layer(const ScratchDir& scratch, const std::string& name = "probe-layer");
// {kProbe, args...}
std::vector<std::string> probe_argv(std::vector<std::string> args);

}  // namespace ctb::conformance

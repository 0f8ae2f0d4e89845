// OCI hooks (config.md#posix-platform-hooks): each hook is a program run with the container's
// state JSON on its stdin, its own args and env, and an optional timeout in seconds. Who calls
// which list, and in which namespaces:
//   prestart, createRuntime  the runtime during create, in the runtime's namespaces, once the
//                            init has set up its mounts and before it changes root
//   createContainer          the init, in the container's namespaces, before it changes root
//                            (so the path still resolves in the runtime's mount namespace)
//   startContainer           the init during start, after the root change, before the exec
//   poststart                the runtime during start, once the process runs
//   poststop                 the runtime during delete, once the container is gone
// A failing prestart..startContainer hook fails its operation, which then destroys the container
// and runs poststop; poststart and poststop failures are warnings.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::container {

// Runs each hook in order until one fails. `kind` is the spec's name ("createRuntime"), for the
// error: "run createRuntime hook[1] /bin/x: exit status 3 (output: ...)". A hook past its timeout
// is killed (by pid) and reported as such.
Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& kind, const std::string& state_json);

// The same for hooks whose failure is only a warning (poststart, poststop): every hook runs, each
// failure goes to stderr as "ctbench-runtime: warning: ...".
void run_hooks_warning_only(const std::vector<spec::Hook>& hooks, const std::string& kind, const std::string& state_json);

}  // namespace ctb::container

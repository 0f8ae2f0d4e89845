// Runtime adapters: how a conformance case runs a container, whatever runtime is under test.
// `ctbench` is the built-in library; anything else is an OCI CLI (runc, crun, a path) driven
// through a generated bundle. Engine-level parts (the image's overlay rootfs, volumes, networks)
// are ctbench's own code around whichever runtime runs the container.
//
// Adapters are used inside a case's own child process (see runner.hpp): they may unshare a
// private mount namespace there, so an engine mount can never outlive the case.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::conformance {

struct RunRequest {
    // Implicit on purpose: `rt->run(agent_spec({"info"}))` and `RunRequest{spec}` both read well.
    RunRequest(spec::Spec s = {}) : spec(std::move(s)) {}  // NOLINT(google-explicit-constructor)
    spec::Spec spec;  // usually from agent_spec(); cases tweak namespaces, resources, mounts ...
    std::chrono::milliseconds timeout{20'000};
    // Read-only layers above the embedded image (top-most first); the rootfs is always an overlay
    // of them, the image, and a fresh container layer.
    std::vector<std::string> extra_layers;
};

struct RunOutput {
    int status = -1;   // exit status of the container's process (128 + signal when killed)
    std::string out;   // its stdout
    std::string err;   // its stderr (and the runtime's own messages)
    // stdout parsed as one JSON document (the agent prints one); an empty object otherwise.
    nlohmann::json json() const;
};

class RunningContainer {
public:
    virtual ~RunningContainer() = default;  // deletes the container (force) if still there
    virtual std::string id() const = 0;
    virtual pid_t pid() const = 0;  // the init's pid on the host
    virtual Result<RunOutput> exec(const std::vector<std::string>& args) = 0;
    virtual Status kill(int signal) = 0;
    // Waits for the init to exit; its output so far comes back (status -1 if it is still running
    // at the deadline).
    virtual Result<RunOutput> wait(std::chrono::milliseconds timeout) = 0;
};

class Runtime {
public:
    virtual ~Runtime() = default;
    virtual std::string name() const = 0;
    // create + start + wait + delete. An Error means the runtime itself failed (the case's
    // setup broke, or the runtime refused the config: the case decides which).
    virtual Result<RunOutput> run(const RunRequest& request) = 0;
    // A detached, running container; deleted when the handle goes.
    virtual Result<std::unique_ptr<RunningContainer>> start(const RunRequest& request) = 0;
};

// "ctbench" (built-in library), "runc", "crun", or a path to an OCI runtime.
Result<std::unique_ptr<Runtime>> make_runtime(const std::string& name);

// The default spec running /usr/bin/ctbench-agent with these arguments (hostname "ctbench",
// the default namespaces pid, network, ipc, uts, mount, cgroup).
spec::Spec agent_spec(const std::vector<std::string>& agent_args);

// A container id unique in this run: "ctbc-<pid>-<counter>".
std::string unique_id();

}  // namespace ctb::conformance

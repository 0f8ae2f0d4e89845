// The container lifecycle of the reference runtime, following the OCI state machine
// (creating -> created -> running -> stopped). Used in-process by the conformance harness and
// benchmarks, and by the `ctbench-runtime` CLI, which follows runc's conventions.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/cgroups/detect.hpp"
#include "runtime/container/state.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::cgroup {
class Manager;
}

namespace ctb::container {

class SharedInitMemory;  // shared_init.hpp

struct CreateOptions {
    std::string id;
    std::string bundle;  // absolute; spec.root.path is relative to it unless absolute
    spec::Spec spec;
    // `spec` as config.json text, saved as is in the state directory; empty: serialized from
    // `spec` there. The CLI passes the bundle's file as it read it (no second JSON document to
    // build and print per container); it must say what `spec` says.
    std::string spec_json;
    std::string state_root = kDefaultStateRoot;
    // Engine-level image layers (read-only, top-most first). When set, the rootfs is an overlay of
    // them plus a container layer in the state directory, mounted inside the container's own
    // mount namespace (so it can never outlive the container on the host).
    std::vector<std::string> image_layers;
    std::string pid_file;
    std::chrono::milliseconds setup_timeout{30'000};
    // With process.terminal: a unix socket the pty master is sent to (SCM_RIGHTS), as containerd
    // shims and conmon expect from runc's --console-socket.
    std::string console_socket;
    // Instead of console_socket: a connected socket of the caller's own (a foreground `run`
    // relays the master it receives; runtime/container/console.hpp). With neither, the terminal
    // flag is ignored and the process keeps the caller's stdio (library users).
    int console_fd = -1;
    // `run`: create and start as one operation, as crun's run does. The init goes on to exec
    // right after "ready" instead of waiting on exec.fifo for a `start` (there is no fifo), and
    // start() in this process only collects the outcome (the exec, or the error of a step after
    // ready) from the sync channel: one hand-off between the two processes less per container.
    // Nothing can act between create and start then, so only a caller that starts at once sets it.
    bool start_at_once = false;
};

class Container {
public:
    // Sets everything up and leaves the init blocked before exec (status "created").
    static Result<Container> create(const CreateOptions& options);
    // A container created by another process (CLI `start`, `kill`, `delete`, ...).
    static Result<Container> load(const std::string& state_root, const std::string& id);

    // Lets the init exec the process. In the creating process it also waits for the exec to
    // happen, so an exec failure comes back as an Error naming the executable.
    Status start();
    // Exit status of the init (128 + signal when killed). Only the creating process can wait.
    Result<int> wait();
    // Only a created or running container (runtime-spec kill); all: every process of its cgroup.
    Status kill(int signal, bool all = false);
    Status pause();
    Status resume();
    Result<std::vector<pid_t>> processes() const;
    // delete_container from the state this handle holds (no state.json to read and parse): for
    // the process that created the container, whose handle knows everything the file says.
    Status remove(bool force);
    State state() const;  // refreshed live status
    pid_t pid() const { return state_.pid; }
    const std::string& id() const { return state_.id; }
    const std::string& state_root() const { return root_; }

    // Moves hand over the duty to reap: a moved-from Container must not waitpid() the init.
    Container(Container&& other) noexcept;
    Container& operator=(Container&& other) noexcept;
    ~Container();

private:
    Container() = default;
    std::string root_;
    State state_;
    UniqueFd sync_;      // creating process only: the init's end closes on exec
    // Creating process only: the cgroup layout create detected, so start/state need not again.
    std::optional<cgroup::Layout> layout_;
    // Creating process only: the cgroup create made, so a status query need not look it up.
    std::shared_ptr<cgroup::Manager> cgroups_;
    bool is_parent_ = false;
    bool reaped_ = false;
    bool started_at_once_ = false;  // CreateOptions::start_at_once: start() only collects the outcome
    // Creating process only, when the init shares our memory (shared_init.hpp): its mapping,
    // released once the init has exec'd or is gone, and left mapped for it otherwise.
    std::unique_ptr<SharedInitMemory> shared_init_;
    void init_left_our_memory();
};

// Removes the container: cgroups and state. Without force only a stopped container (the
// runtime-spec's rule; runc also deletes a created one); with force, what is left is killed first
// and waited for, and a container that does not exist is fine (idempotent).
Status delete_container(const std::string& state_root, const std::string& id, bool force);

// `runc update`: writes the given resources (only the fields set) to the cgroups of a container
// that is created, running or paused; a stopped one is refused. Errors name the field and file.
Status update_resources(const std::string& state_root, const std::string& id, const spec::Resources& resources);

// create + start + wait + delete, as `runc run` does. Returns the exit status.
Result<int> run(const CreateOptions& options);

struct ExecOptions {
    // runc's `exec -d`: return as soon as the process runs (its execve succeeded), leaving it to
    // the container (it is reparented when the runtime exits); the result is then 0.
    bool detach = false;
    // The process's pid on the host, written (tmp + rename) once it is forked, before it runs.
    std::string pid_file;
};

// Runs an extra process inside a running container (all its namespaces, its cgroup, the given
// process settings). Returns its exit status (0 at once with `detach`). With process.terminal
// and a console_fd (a connected unix socket), the process gets a pty of the container's devpts
// whose master is sent over it (runtime/container/console.hpp); without one it keeps the
// caller's stdio.
Result<int> exec(const std::string& state_root, const std::string& id, const spec::Process& process,
                 int console_fd = -1, const ExecOptions& options = {});

// pid written to `path` through a temporary file and rename (a reader never sees half a pid);
// nothing when path is empty.
Status write_pid_file(const std::string& path, pid_t pid);

}  // namespace ctb::container

// Shared by the namespace cases (conformance/ns/*.cpp): containers through the runtime under test,
// the host's view of them through its own /proc, and raw kernel experiments in forked children.
//
// Case bodies are written straight through: a step that cannot be carried out raises the kit's
// SetupError (conformance/harness/kit.hpp), an `error` outcome (the test's own setup broke), never a `fail`.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "conformance/harness/adapter.hpp"
#include "conformance/harness/kit.hpp"

namespace ctb::conformance::nscase {

// Requirements: root, the six namespaces of the default container spec (pid, network, ipc, uts,
// mount, cgroup) and `extra` namespace types.
std::vector<Requirement> container_needs(std::initializer_list<const char*> extra = {});
// Requirements of a raw kernel experiment: root and these namespace types.
std::vector<Requirement> raw_needs(std::initializer_list<const char*> types);

// ---- containers through the runtime under test ----------------------------------------------

// The spec of a container running the agent (a busybox shell script: the kit's shell_spec).
spec::Spec agent(const std::vector<std::string>& args);
// Adds capabilities to the bounding, effective and permitted sets.
void add_capabilities(spec::Spec& s, std::initializer_list<const char*> caps);
void add_namespace(spec::Spec& s, const std::string& type);
void remove_namespace(spec::Spec& s, const std::string& type);

class Containers {
public:
    explicit Containers(const CaseContext& ctx);
    // Runs to completion; a runtime failure (or no exit in time) is a SetupError.
    // `layers`: read-only layers above the image (RunRequest::extra_layers).
    RunOutput run(const spec::Spec& s, const std::vector<std::string>& layers = {});
    // Runs to completion; a runtime failure is returned (the case decides what a refusal means).
    Result<RunOutput> try_run(const spec::Spec& s, const std::vector<std::string>& layers = {});
    Started start(const spec::Spec& s);
    Result<Started> try_start(const spec::Spec& s);
    const std::string& name() const { return name_; }

private:
    std::unique_ptr<Runtime> runtime_;
    std::string name_;
};

// The one JSON document the agent printed; SetupError if there is none.
json agent_json(const RunOutput& out, const std::string& what);
// Output so far of a still running container (its stdout).
std::string output_so_far(RunningContainer& c);
// Waits (bounded) until the container's stdout contains `needle`.
bool wait_for_output(RunningContainer& c, const std::string& needle, std::chrono::milliseconds timeout);
// Short summary of an output for evidence and reasons.
json describe(const RunOutput& out);

// ---- the host's view -------------------------------------------------------------------------

// Inode of /proc/<pid>/ns/<name> (name as under /proc: "pid", "net", "mnt" ...); SetupError if unreadable.
unsigned long ns_inode_of(pid_t pid, const std::string& name);
unsigned long own_ns_inode(const std::string& name);
// "Key: value" lines of /proc/<pid>/status; nullopt when the process is gone.
std::optional<std::map<std::string, std::string>> proc_status(pid_t pid);
// NSpid of a process, outermost (the reader's namespace) first; empty when it is gone.
std::vector<pid_t> nspids(pid_t pid);
// Field 22 of /proc/<pid>/stat (start time in clock ticks); nullopt when gone. A pid with the
// same start time is the same process, so a recycled pid is never mistaken for a survivor.
std::optional<unsigned long long> start_time(pid_t pid);
bool same_process_alive(pid_t pid, unsigned long long started);
// "/proc/<pid>/cmdline" with NULs as spaces ("" when gone).
std::string cmdline(pid_t pid);
// Every pid in the host's /proc, sorted.
std::vector<pid_t> all_pids();
// Every host pid whose pid namespace is the one of `member` (inode of /proc/<member>/ns/pid).
std::vector<pid_t> pids_in_pid_ns_of(pid_t member);
// Host directory entries (names only, sorted); SetupError when unreadable.
std::vector<std::string> list_dir(const std::string& path);
// The whole file; SetupError when unreadable.
std::string read_text(const std::string& path);
std::vector<std::string> lines(const std::string& text);
std::vector<std::string> words(const std::string& line);
bool contains(const std::string& haystack, const std::string& needle);

// ---- raw kernel experiments ------------------------------------------------------------------

// Runs `body` in a forked child (deadline, crash and timeout become SetupErrors) and returns the
// JSON it produced. Whatever the child changes in its own process (namespaces, credentials,
// mounts in a private mount namespace) dies with it.
json in_child(const std::function<json()>& body, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A child process held at a gate: it runs `before` (e.g. unshare), reports "ready", waits until
// the parent opens the gate, then runs `after` and reports its JSON. The parent acts on the
// child in between (writes its uid_map, moves things into its namespaces ...).
class GatedChild {
public:
    GatedChild(std::function<int()> before, std::function<json()> after);
    ~GatedChild();  // kills (by pid) and reaps the child if still there
    pid_t pid() const { return pid_; }
    // The errno `before` returned (0 when it succeeded); SetupError if the child died first.
    int wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // Lets the child go on and collects what `after` reported.
    json finish(std::chrono::milliseconds timeout = std::chrono::seconds(10));

private:
    pid_t pid_ = -1;
    UniqueFd ready_, gate_, result_;
};

// open(2) + write(2) of `content` in one call; 0 or the errno.
int write_errno(const std::string& path, const std::string& content);
// fd of /proc/<pid>/ns/<name>; SetupError if it cannot be opened.
UniqueFd open_ns(pid_t pid, const std::string& name);

// A unique short token for names that must stay within link-name limits: "<pid mod 1e6>".
std::string short_token();

}  // namespace ctb::conformance::nscase

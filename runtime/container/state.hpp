// Container state on disk: <root>/<id>/state.json, following the OCI state document, plus what
// ctbench needs to find everything again from another process (cgroup path, init start time so a
// recycled pid is never mistaken for the container, the spec the container was created with).
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace ctb::container {

inline constexpr const char* kDefaultStateRoot = "/run/ctbench/runtime";

enum class ContainerStatus { creating, created, running, paused, stopped };
std::string to_string(ContainerStatus s);

struct State {
    std::string oci_version = "1.0.2";
    std::string id;
    ContainerStatus status = ContainerStatus::creating;
    pid_t pid = 0;
    unsigned long long pid_start_time = 0;  // field 22 of /proc/<pid>/stat
    std::string bundle;
    std::string rootfs;
    std::string cgroup_path;  // below each hierarchy's root, e.g. ctbench/<id>
    // The cgroup directories this container's create made (absolute, parents first); delete
    // removes these and nothing else. Absent in state written before this was recorded: then the
    // whole cgroup_path goes, as it used to.
    std::optional<std::vector<std::string>> cgroup_created;
    std::string created;      // RFC 3339
    std::map<std::string, std::string> annotations;
    // Whether config.json has poststart or poststop hooks: start and delete read the config
    // back only then. Absent in older state: assumed true (the config is read, as it used to be).
    bool has_lifecycle_hooks = true;
    // The ctbench run that made this container (runtime/ownership.hpp); "" for a user's.
    std::string owner;
};

std::string state_dir(const std::string& root, const std::string& id);
// Container ids: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}; the error names the argument.
Status validate_id(const std::string& id);

Status save_state(const std::string& root, const State& s);
// The same document written over the existing state.json in one write(2) at offset 0, padded
// with spaces (JSON whitespace) to the old length: no new file, so no freed block (which on a
// `discard` mount waits for the device). A SIGKILL cannot split a one-page write; a reader racing
// it may see a mix, which load_state detects (malformed JSON) and reads again.
Status overwrite_state(const std::string& root, const State& s);
Result<State> load_state(const std::string& root, const std::string& id);
Result<std::vector<std::string>> list_ids(const std::string& root);

// The OCI `state` output (ociVersion, id, status, pid, bundle, annotations).
std::string oci_state_json(const State& s);

unsigned long long process_start_time(pid_t pid);  // 0 when the process does not exist
// Live status: the init must still be the same process (start time), then created (exec fifo
// still there) / paused (frozen) / running; otherwise stopped.
ContainerStatus live_status(const std::string& root, const State& s, const std::function<bool()>& frozen);
// The init has exited (or its pid now names another process).
bool init_gone(const State& s);

}  // namespace ctb::container

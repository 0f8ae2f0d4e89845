// What the start benches share: a private mount namespace with the cgroup2 mount hidden (crun
// 1.8.1 refuses hybrid hosts, and every runtime gets the same view), one overlay rootfs of the
// embedded image for every CLI runtime, bundles running /bin/true, and the CLIs to compare.
#pragma once

#include <sched.h>

#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::bench {

inline constexpr int kNamespaceFlags =
    CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWCGROUP;
inline const std::vector<std::string> kNamespaces{"pid", "network", "ipc", "uts", "mount", "cgroup"};
inline constexpr const char* kCgroupView =
    "hybrid host seen as v1: cgroup2 at /sys/fs/cgroup/unified hidden for every runtime";

// Where the fixture's files live. On a systemd host /run is a tmpfs; on hosts where it is a disk
// (this development VM: ext4 mounted `discard`), every state file a runtime removes waits for the
// disk, and that wait, not the runtime, sets the run-to-run spread of the start figures. `tmpfs`
// mounts a private tmpfs on the fixture directory (only in the bench's own mount namespace), the
// same for every runtime; `host` measures on /run/ctbench as it is.
enum class StateFs { tmpfs, host };
Result<StateFs> parse_state_fs(const std::string& name);
std::string describe(StateFs fs);

struct Fixture {
    std::string dir;     // /run/ctbench/<name>-<pid> (bench-start-<pid> for the start benches)
    bool own_tmpfs = false;  // dir is a tmpfs mounted by make_fixture
    std::string image;   // the embedded image's rootfs (read-only lower layer)
    std::string rootfs;  // dir/rootfs: overlay of image + dir/upper, shared by every CLI runtime
};

spec::Spec true_spec(const std::string& rootfs, const std::string& cgroup);
// Private mount namespace for the calling process, /sys/fs/cgroup/unified unmounted in it.
Status hide_unified_hierarchy();
// Needs a private mount namespace (hide_unified_hierarchy) for StateFs::tmpfs.
Result<Fixture> make_fixture(const std::string& name = "bench-start", StateFs fs = StateFs::host);
void remove_fixture(const Fixture& f);
// dir/bundle-<runtime><tag>/config.json, cgroup /ctbench/bench-start-<runtime><tag>.
Result<std::string> write_bundle(const Fixture& f, const std::string& runtime, const std::string& tag = "");
// ctbench-runtime, crun, runc: path or why it is missing.
std::vector<std::pair<std::string, Result<std::string>>> cli_runtimes();

}  // namespace ctb::bench

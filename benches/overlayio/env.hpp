// What the overlayio benches share: one scratch directory under the state directory
// (/run/ctbench/bench-overlayio-<pid>) holding the bare directory (same backing filesystem as the
// container's upper layer), a size-limited tmpfs, the overlay rootfs of the embedded image for the
// container, and the ways to run ctbench-agent's `iobench` engine: inside a container of the
// runtime under test (its CLI: ctbench-runtime, runc, crun or a path) and bare on the host.
// Everything lives in the bench child's private mount namespace and is removed by close().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "benches/registry.hpp"
#include "common/error.hpp"
#include "runtime/rootfs/overlay.hpp"

namespace ctb::bench::overlayio {

struct RuntimeCli {
    std::string name;  // "ctbench-runtime", "runc", "crun" or the path given
    std::string path;
};

class Env {
public:
    // Private mount namespace (cgroup2 hidden as for the start benches), scratch dir, tmpfs of
    // `tmpfs_mib`, the image, the runtime CLI. The destructor removes everything.
    static Result<std::unique_ptr<Env>> open(const BenchContext& ctx, int tmpfs_mib);
    ~Env();
    Env(const Env&) = delete;
    Env& operator=(const Env&) = delete;

    const std::string& dir() const { return dir_; }
    std::string bare_dir() const { return dir_ + "/bare"; }
    std::string tmpfs_dir() const { return dir_ + "/tmpfs"; }
    const std::string& image() const { return image_; }
    std::string agent_on_host() const { return image_ + "/usr/bin/ctbench-agent"; }
    const RuntimeCli& runtime() const { return runtime_; }

    // A fresh overlay rootfs for containers: `extra_lower` (top-most first) above the image,
    // upper and work in a new layer dir under dir(). Replaces the previous one (unmounted).
    Status mount_rootfs(const std::vector<std::string>& extra_lower, const std::vector<std::string>& options = {});
    // The upper directory of the current rootfs (the container layer on the state directory).
    const std::string& upper() const { return layers_.upper; }
    const std::string& work() const { return layers_.work; }
    // The current rootfs' lower layers, top-most first (the image last).
    const std::vector<std::string>& lower() const { return layers_.lower; }
    const std::string& rootfs() const { return rootfs_; }

    // ctbench-agent ARGS inside a new container on the current rootfs; its JSON document.
    Result<nlohmann::json> in_container(const std::vector<std::string>& agent_args);
    // The same agent binary, bare on the host.
    Result<nlohmann::json> bare(const std::vector<std::string>& agent_args);

    // Context every overlayio figure carries: runtime, cgroup view, backing filesystems.
    nlohmann::json context(const std::string& where) const;

private:
    Env() = default;
    void close();

    std::string dir_, image_, rootfs_;
    bool tmpfs_mounted_ = false, rootfs_mounted_ = false;
    rootfs::OverlayLayers layers_;
    RuntimeCli runtime_;
    int layer_count_ = 0, container_count_ = 0;
    std::string backing_fs_;  // statfs type of dir_ ("ext4", ...)
};

// The last line of `output` that parses as a JSON object with "ok": true; an Error otherwise
// (naming `what` and quoting the output's tail).
Result<nlohmann::json> agent_document(const std::string& output, const std::string& what);

// An Error naming `dir`, what is needed and what is free when less than `need_mib` MiB are free.
Status check_space(const std::string& dir, std::uint64_t need_mib);

// Filesystem type name of `path` from statfs ("ext4", "tmpfs", "overlay", "0x…" if unknown).
std::string fs_type(const std::string& path);

}  // namespace ctb::bench::overlayio

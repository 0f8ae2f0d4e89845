#include "benches/overlayio/env.hpp"

#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>
#include <sstream>

#include "benches/harness/spawn.hpp"
#include "benches/start/fixture.hpp"
#include "common/files.hpp"
#include "common/subprocess.hpp"
#include "runtime/image/image.hpp"
#include "runtime/spec/parse.hpp"

namespace ctb::bench::overlayio {
namespace {

Result<RuntimeCli> resolve_runtime(const std::string& name) {
    if (name.empty() || name == "ctbench" || name == "ctbench-runtime") {
        auto path = find_ctbench_runtime();
        if (!path) return fail(path.error());
        return RuntimeCli{"ctbench-runtime", *path};
    }
    if (name.find('/') != std::string::npos) return RuntimeCli{name, name};
    auto path = find_executable(name);
    if (!path) return fail(plain_error("find runtime", name, "not installed"));
    return RuntimeCli{name, *path};
}

// A container that runs longer than this is broken, not slow (the quick profile's largest
// workload takes a few seconds).
constexpr std::chrono::seconds kContainerDeadline{300};

}  // namespace

Status check_space(const std::string& dir, std::uint64_t need_mib) {
    struct statvfs st{};
    if (::statvfs(dir.c_str(), &st) != 0) return fail(sys_error("statvfs", dir));
    std::uint64_t have = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize >> 20;
    if (have < need_mib)
        return fail(plain_error("check free space", dir, fmt::format("need {} MiB, {} MiB free", need_mib, have)));
    return {};
}

std::string fs_type(const std::string& path) {
    struct statfs st{};
    if (::statfs(path.c_str(), &st) != 0) return "unknown";
    switch (static_cast<unsigned long>(st.f_type)) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x794c7630: return "overlay";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    default: return fmt::format("0x{:x}", static_cast<unsigned long>(st.f_type));
    }
}

Result<nlohmann::json> agent_document(const std::string& output, const std::string& what) {
    std::istringstream in(output);
    std::string line;
    nlohmann::json found;
    while (std::getline(in, line)) {
        if (line.empty() || line.front() != '{') continue;
        auto doc = nlohmann::json::parse(line, nullptr, false);
        if (!doc.is_discarded() && doc.is_object()) found = std::move(doc);
    }
    std::string tail = output.substr(output.size() > 400 ? output.size() - 400 : 0);
    if (found.is_null()) return fail(plain_error("parse agent output", what, "no JSON document in: " + tail));
    if (!found.value("ok", false))
        return fail(plain_error("agent", what, found.value("error", std::string("not ok")) + "; output: " + tail));
    return found;
}

Result<std::unique_ptr<Env>> Env::open(const BenchContext& ctx, int tmpfs_mib) {
    std::unique_ptr<Env> env(new Env());
    auto rt = resolve_runtime(ctx.runtime);
    if (!rt) return fail(rt.error());
    env->runtime_ = *rt;
    if (auto s = hide_unified_hierarchy(); !s) return fail(s.error());
    auto image = image::ensure_default_image();
    if (!image) return fail(image.error());
    env->image_ = *image;
    env->dir_ = fmt::format("/run/ctbench/bench-overlayio-{}", ::getpid());
    for (const auto& d : {env->bare_dir(), env->tmpfs_dir(), env->dir_ + "/rootfs", env->dir_ + "/bundle"})
        if (auto s = make_dirs(d, 0755); !s) return fail(s.error());
    std::string opts = fmt::format("size={}m,mode=0755", tmpfs_mib);
    if (::mount("ctbench-overlayio", env->tmpfs_dir().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0)
        return fail(sys_error("mount tmpfs", env->tmpfs_dir()));
    env->tmpfs_mounted_ = true;
    env->rootfs_ = env->dir_ + "/rootfs";
    env->backing_fs_ = fs_type(env->dir_);
    return env;
}

Env::~Env() { close(); }

void Env::close() {
    if (rootfs_mounted_) ::umount2(rootfs_.c_str(), MNT_DETACH);
    if (tmpfs_mounted_) ::umount2(tmpfs_dir().c_str(), MNT_DETACH);
    rootfs_mounted_ = tmpfs_mounted_ = false;
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

Status Env::mount_rootfs(const std::vector<std::string>& extra_lower, const std::vector<std::string>& options) {
    if (rootfs_mounted_ && ::umount2(rootfs_.c_str(), 0) != 0) return fail(sys_error("umount", rootfs_));
    rootfs_mounted_ = false;
    std::string layer = fmt::format("{}/layer{}", dir_, layer_count_++);
    // The previous container layer is not needed any more: free its space now.
    if (!layers_.upper.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(std::filesystem::path(layers_.upper).parent_path(), ec);
    }
    layers_ = {};
    layers_.lower = extra_lower;
    layers_.lower.push_back(image_);
    layers_.upper = layer + "/upper";
    layers_.work = layer + "/work";
    layers_.extra_options = options;
    for (const auto& d : {layers_.upper, layers_.work})
        if (auto s = make_dirs(d, 0755); !s) return fail(s.error());
    if (auto s = rootfs::mount_overlay(layers_, rootfs_); !s) return fail(s.error());
    rootfs_mounted_ = true;
    return {};
}

Result<nlohmann::json> Env::in_container(const std::vector<std::string>& agent_args) {
    if (!rootfs_mounted_) return fail(plain_error("run container", "overlayio", "no rootfs mounted"));
    int n = container_count_++;
    auto spec = true_spec(rootfs_, fmt::format("/ctbench/bench-overlayio-{}", ::getpid()));
    spec.process.args = {"/usr/bin/ctbench-agent"};
    spec.process.args.insert(spec.process.args.end(), agent_args.begin(), agent_args.end());
    std::string bundle = dir_ + "/bundle";
    if (auto s = write_file(bundle + "/config.json", spec::to_json(spec).dump(2)); !s) return fail(s.error());
    std::string id = fmt::format("oio-{}-{}", ::getpid(), n);
    std::vector<std::string> argv{runtime_.path, "--root", dir_ + "/runtime-root", "run", "--bundle", bundle, id};
    RunOptions o;
    o.timeout = kContainerDeadline;
    auto r = run_process(argv, o);
    if (!r) return fail(r.error());
    std::string what = fmt::format("{} run ctbench-agent {}", runtime_.name, fmt::join(agent_args, " "));
    if (!r->exited_ok())
        return fail(plain_error("container", what,
                                fmt::format("exit {} signal {}{}: {}", r->exit_code, r->term_signal,
                                            r->timed_out ? " (deadline)" : "",
                                            r->output.substr(r->output.size() > 400 ? r->output.size() - 400 : 0))));
    return agent_document(r->output, what);
}

Result<nlohmann::json> Env::bare(const std::vector<std::string>& agent_args) {
    std::vector<std::string> argv{agent_on_host()};
    argv.insert(argv.end(), agent_args.begin(), agent_args.end());
    RunOptions o;
    o.timeout = kContainerDeadline;
    auto r = run_process(argv, o);
    if (!r) return fail(r.error());
    std::string what = fmt::format("ctbench-agent {}", fmt::join(agent_args, " "));
    if (!r->exited_ok() && r->output.find('{') == std::string::npos)
        return fail(plain_error("bare agent", what, fmt::format("exit {}: {}", r->exit_code, r->output)));
    return agent_document(r->output, what);
}

nlohmann::json Env::context(const std::string& where) const {
    nlohmann::json c{{"where", where}, {"backing_fs", backing_fs_}};
    if (where == "container") {
        c["runtime"] = runtime_.name;
        c["runtime_path"] = runtime_.path;
        c["rootfs"] = "overlay: image lower, upper on the state directory (" + backing_fs_ + ")";
        c["namespaces"] = kNamespaces;
        c["cgroups"] = kCgroupView;
    } else if (where == "tmpfs") {
        c["backing_fs"] = "tmpfs";
    }
    return c;
}

}  // namespace ctb::bench::overlayio

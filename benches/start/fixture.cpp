#include "benches/start/fixture.hpp"

#include <sys/mount.h>

#include <filesystem>
#include <fmt/format.h>

#include "benches/harness/spawn.hpp"
#include "common/files.hpp"
#include "common/subprocess.hpp"
#include "runtime/image/image.hpp"
#include "runtime/rootfs/overlay.hpp"
#include "runtime/spec/parse.hpp"

namespace ctb::bench {

spec::Spec true_spec(const std::string& rootfs, const std::string& cgroup) {
    spec::Spec s = spec::default_spec();
    s.process.args = {"/bin/true"};
    s.root.path = rootfs;
    s.linux.namespaces.clear();
    for (const auto& n : kNamespaces) s.linux.namespaces.push_back({n, ""});
    s.linux.cgroups_path = cgroup;
    return s;
}

Status hide_unified_hierarchy() {
    if (::unshare(CLONE_NEWNS) != 0) return fail(sys_error("unshare", "mount namespace"));
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return fail(sys_error("make private", "/"));
    if (::umount2("/sys/fs/cgroup/unified", MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
        return fail(sys_error("umount", "/sys/fs/cgroup/unified"));
    return {};
}

Result<StateFs> parse_state_fs(const std::string& name) {
    if (name == "tmpfs") return StateFs::tmpfs;
    if (name == "host") return StateFs::host;
    return fail(plain_error("state_fs", "'" + name + "'", "unknown; valid: tmpfs, host"));
}

std::string describe(StateFs fs) {
    return fs == StateFs::tmpfs ? "tmpfs (private to the bench, as /run on systemd hosts)"
                                : "host (/run/ctbench on the host's filesystem as it is)";
}

Result<Fixture> make_fixture(const std::string& name, StateFs fs) {
    Fixture f;
    f.dir = fmt::format("/run/ctbench/{}-{}", name, ::getpid());
    auto image = image::ensure_default_image();
    if (!image) return fail(image.error());
    if (auto s = make_dirs(f.dir, 0700); !s) return fail(s.error());
    if (fs == StateFs::tmpfs) {
        if (::mount("ctbench-state", f.dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0) {
            Error e = sys_error("mount tmpfs on", f.dir);
            ::rmdir(f.dir.c_str());
            return fail(e);
        }
        f.own_tmpfs = true;
    }
    f.image = *image;
    f.rootfs = f.dir + "/rootfs";
    for (const char* sub : {"/rootfs", "/upper", "/work", "/state"})
        if (auto s = make_dirs(f.dir + sub, 0700); !s) {
            remove_fixture(f);
            return fail(s.error());
        }
    rootfs::OverlayLayers layers;
    layers.lower = {f.image};
    layers.upper = f.dir + "/upper";
    layers.work = f.dir + "/work";
    if (auto s = rootfs::mount_overlay(layers, f.rootfs); !s) {
        remove_fixture(f);
        return fail(s.error());
    }
    return f;
}

Result<std::string> write_bundle(const Fixture& f, const std::string& runtime, const std::string& tag) {
    std::string bundle = f.dir + "/bundle-" + runtime + tag;
    if (auto s = make_dirs(bundle); !s) return fail(s.error());
    auto spec = true_spec(f.rootfs, "/ctbench/bench-start-" + runtime + tag);
    if (auto s = write_file(bundle + "/config.json", spec::to_json(spec).dump(2)); !s) return fail(s.error());
    return bundle;
}

std::vector<std::pair<std::string, Result<std::string>>> cli_runtimes() {
    std::vector<std::pair<std::string, Result<std::string>>> clis{{"ctbench-runtime", find_ctbench_runtime()}};
    for (const char* name : {"crun", "runc"}) {
        auto path = find_executable(name);
        clis.emplace_back(name, path ? Result<std::string>(*path) : fail(plain_error("find", name, "not installed")));
    }
    return clis;
}

void remove_fixture(const Fixture& f) {
    ::umount2(f.rootfs.c_str(), MNT_DETACH);
    if (f.own_tmpfs) ::umount2(f.dir.c_str(), MNT_DETACH);  // frees everything in it at once
    std::error_code ec;
    std::filesystem::remove_all(f.dir, ec);
}

}  // namespace ctb::bench

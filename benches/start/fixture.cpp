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

Result<Fixture> make_fixture(const std::string& name) {
    Fixture f;
    f.dir = fmt::format("/run/ctbench/{}-{}", name, ::getpid());
    auto image = image::ensure_default_image();
    if (!image) return fail(image.error());
    f.image = *image;
    f.rootfs = f.dir + "/rootfs";
    for (const char* sub : {"/rootfs", "/upper", "/work", "/state"})
        if (auto s = make_dirs(f.dir + sub, 0700); !s) return fail(s.error());
    rootfs::OverlayLayers layers;
    layers.lower = {f.image};
    layers.upper = f.dir + "/upper";
    layers.work = f.dir + "/work";
    if (auto s = rootfs::mount_overlay(layers, f.rootfs); !s) return fail(s.error());
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
    std::error_code ec;
    std::filesystem::remove_all(f.dir, ec);
}

}  // namespace ctb::bench

#include "conformance/volume/helpers.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace ctb::conformance::vol {

Result<ScopedVolume> ScopedVolume::create(const std::string& tag) {
    std::string name = fmt::format("ctbv-{}-{}", ::getpid(), tag);
    (void)rootfs::remove_volume(name);  // a leftover of an interrupted run with a recycled pid
    auto path = rootfs::create_volume(name);
    if (!path) {
        ::rmdir(rootfs::kDefaultVolumeRoot);
        return fail(path.error());
    }
    return ScopedVolume(name, *path);
}

ScopedVolume::~ScopedVolume() {
    if (name_.empty()) return;
    (void)rootfs::remove_volume(name_);
    // Only when empty: another run's volumes may live there too (then rmdir fails, as it should).
    ::rmdir(rootfs::kDefaultVolumeRoot);
}

Result<Started> start_with_volume(Runtime& rt, const ScopedVolume& v, bool read_only) {
    spec::Spec spec = agent_spec({"sleep", "10"});
    spec.mounts.push_back(rootfs::volume_mount(v.path(), kMountPoint, read_only));
    return start(rt, RunRequest{spec});
}

}  // namespace ctb::conformance::vol

#include "runtime/rootfs/rootfs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/fd.hpp"

namespace ctb::rootfs {
namespace {

Status create_spec_devices(const spec::Spec& spec, const std::string& rootfs, const RootfsContext& ctx) {
    if (spec.linux.devices.empty()) return {};
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail(sys_error("open rootfs", rootfs));
    return create_devices(spec.linux.devices, root.get(), rootfs, ctx.new_user_ns);
}

// Everything that needs the host's view (bind sources, /proc/self/fd of the host's proc).
Status before_pivot(const spec::Spec& spec, const std::string& rootfs, const RootfsContext& ctx) {
    if (!ctx.propagation_set)
        if (auto s = set_rootfs_propagation(spec.linux.rootfs_propagation); !s) return s;
    const std::string& p = spec.linux.rootfs_propagation;
    // Unset (rslave) counts as private here: pivot_root only refuses a shared new root.
    bool private_root = p.empty() || p == "private" || p == "rprivate";
    // In a new user namespace the mounts copied from the runtime's namespace are locked, and
    // pivot_root refuses a locked new root (EINVAL): only a bind of its own will do there.
    if (auto s = prepare_rootfs_mount(rootfs, private_root && !ctx.new_user_ns); !s) return s;
    if (auto s = apply_mounts(spec.mounts, rootfs, ctx, &ctx.idmapped_trees); !s) return s;
    if (auto s = apply_mounts(ctx.volumes, rootfs, ctx); !s) return s;
    return create_spec_devices(spec, rootfs, ctx);
}

// Everything that must only ever see the container's root.
Status after_pivot(const spec::Spec& spec) {
    if (auto s = mask_paths(spec.linux.masked_paths); !s) return s;
    if (auto s = make_paths_readonly(spec.linux.readonly_paths); !s) return s;
    if (spec.root.readonly)
        if (auto s = make_root_readonly(); !s) return s;
    return apply_root_propagation(spec.linux.rootfs_propagation);
}

}  // namespace

Result<std::string> mount_overlay_rootfs(const std::vector<std::string>& image_layers,
                                         const std::string& container_dir,
                                         const std::vector<std::string>& extra_options) {
    if (auto s = prepare_container_layers(container_dir); !s) return fail(s.error());
    OverlayLayers layers{image_layers, container_dir + "/upper", container_dir + "/work", extra_options};
    std::string merged = container_dir + "/merged";
    if (auto s = mount_overlay(layers, merged); !s) return fail(s.error());
    return merged;
}

Status setup_rootfs(const spec::Spec& spec, const std::string& rootfs, const RootfsContext& ctx) {
    if (rootfs.empty() || rootfs.front() != '/')
        return fail(plain_error("set up rootfs", rootfs, "the rootfs path must be absolute"));
    if (auto s = before_pivot(spec, rootfs, ctx); !s) return s;
    if (ctx.before_root_change)
        if (auto s = ctx.before_root_change(); !s) return s;
    if (auto s = pivot_root_into(rootfs); !s) return s;
    if (ctx.after_root_change)
        if (auto s = ctx.after_root_change(); !s) return s;
    return after_pivot(spec);
}

}  // namespace ctb::rootfs

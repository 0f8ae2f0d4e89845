#include "runtime/rootfs/mounts.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

#include "common/fd.hpp"
#include "runtime/rootfs/dev.hpp"
#include "runtime/rootfs/idmap.hpp"
#include "runtime/rootfs/mount_util.hpp"

namespace ctb::rootfs {
namespace {

// One mount being applied: where it goes (as the container sees it and as errors show it).
struct Target {
    int root_fd;
    std::string dest;   // cleaned, as the container sees it
    std::string shown;  // rootfs + dest, for errors
};

Target sub_target(const Target& t, const std::string& name) {
    return {t.root_fd, t.dest + "/" + name, t.shown + "/" + name};
}

std::string mount_step(const std::string& type) { return "mount " + (type.empty() ? "(no type)" : type) + " on"; }

// A descriptor of the mount now at the destination: one taken before mounting names the
// covered directory, and a remount through it would change the wrong mount.
Result<UniqueFd> reopen(const Target& t) { return open_in_root(t.root_fd, t.dest, O_PATH, t.shown); }

// MS_* per-mount flags as mount_setattr attributes, for the whole tree of an rbind.
unsigned tree_attributes(unsigned long flags) {
    unsigned attr = 0;
    if (flags & MS_RDONLY) attr |= MOUNT_ATTR_RDONLY;
    if (flags & MS_NOSUID) attr |= MOUNT_ATTR_NOSUID;
    if (flags & MS_NODEV) attr |= MOUNT_ATTR_NODEV;
    if (flags & MS_NOEXEC) attr |= MOUNT_ATTR_NOEXEC;
    return attr;
}

// Propagation and recursive attributes: both need the mount to exist first.
Status finish(const Target& t, int mount_fd, const MountOptions& opts) {
    std::string path = fd_path(mount_fd);
    for (unsigned long p : opts.propagation)
        if (::mount(nullptr, path.c_str(), nullptr, p, nullptr) != 0)
            return fail(sys_error("set propagation of", t.shown));
    return set_tree_attributes(path, opts.recursive_set, opts.recursive_clear, t.shown);
}

// Whether finish() has anything to do (it needs a descriptor of the new mount for that).
bool needs_finish(const MountOptions& opts) {
    return !opts.propagation.empty() || opts.recursive_set != 0 || opts.recursive_clear != 0;
}

// The mount point of a fresh mount. proc and sysfs must sit at their real path: a symlink there
// is how CVE-2019-19921-style attacks swap in a fake /proc that later masking would then miss;
// their strict lookup is also the mount point when it succeeds.
Result<UniqueFd> fresh_mount_point(const Target& t, const std::string& type) {
    if (type == "proc" || type == "sysfs") {
        auto strict = open_in_root(t.root_fd, t.dest, O_PATH, t.shown, RESOLVE_NO_SYMLINKS);
        if (strict) return strict;
        if (strict.error().err == ELOOP)
            return fail(plain_error(mount_step(type), t.shown, "the destination passes through a symlink"));
    }
    return make_mount_point(t.root_fd, t.dest, true, t.shown);
}

// A new mount of `type` at the target. With want_top, a descriptor of it (else an empty one:
// most mounts need nothing after, and each lookup in the root is a path walk).
Result<UniqueFd> mount_fresh(const Target& t, const std::string& type, const std::string& source,
                             unsigned long flags, const std::string& data, bool want_top = true) {
    auto point = fresh_mount_point(t, type);
    if (!point) return point;
    if (::mount(source.c_str(), fd_path(point->get()).c_str(), type.c_str(), flags,
                data.empty() ? nullptr : data.c_str()) != 0)
        return fail(sys_error(mount_step(type), t.shown));
    if (!want_top) return UniqueFd{};
    return reopen(t);
}

// Bind `source` at the target, then remount for the per-mount flags asked for (set/clear);
// flags the source mount already has (and the kernel may have locked) are carried over.
// idmapped_tree: the detached idmapped clone of `source` the runtime prepared (idmap.hpp), moved
// into place instead of a fresh bind; -1 for a plain bind.
Result<UniqueFd> bind(const Target& t, const std::string& source, bool recursive, unsigned long set,
                      unsigned long clear, int idmapped_tree = -1) {
    struct stat st {};
    if (::stat(source.c_str(), &st) != 0) return fail(sys_error("stat bind source", source));
    auto point = make_mount_point(t.root_fd, t.dest, S_ISDIR(st.st_mode), t.shown);
    if (!point) return point;
    if (idmapped_tree >= 0) {
        if (auto s = attach_idmapped_tree(idmapped_tree, point->get(), t.shown); !s) return fail(s.error());
    } else if (::mount(source.c_str(), fd_path(point->get()).c_str(), nullptr, MS_BIND | (recursive ? MS_REC : 0),
                       nullptr) != 0) {
        return fail(sys_error("bind mount " + source + " on", t.shown));
    }
    auto top = reopen(t);
    if (!top) return top;
    if ((set | clear) != 0)
        if (auto s = remount_bind(fd_path(top->get()), set, clear, t.shown); !s) return fail(s.error());
    return top;
}

Status apply_bind(const Target& t, const spec::Mount& m, const MountOptions& opts, int idmapped_tree) {
    unsigned long mask = per_mount_flags_mask();
    auto top = rootfs::bind(t, m.source, opts.is_recursive_bind(), opts.flags & mask, opts.cleared & mask, idmapped_tree);
    if (!top) return fail(top.error());
    return finish(t, top->get(), opts);
}

// The host's /sys, as runc does without a network namespace. "ro" etc. cover every submount:
// a container must not find a writable /sys/kernel/... under a read-only /sys.
Status apply_host_sysfs(const Target& t, const MountOptions& opts) {
    unsigned long mask = per_mount_flags_mask();
    auto top = rootfs::bind(t, "/sys", true, opts.flags & mask, opts.cleared & mask);
    if (!top) return fail(top.error());
    if (auto s = set_tree_attributes(fd_path(top->get()), tree_attributes(opts.flags), 0, t.shown); !s) return s;
    return finish(t, top->get(), opts);
}

Status apply_regular(const Target& t, const spec::Mount& m, const MountOptions& opts, const RootfsContext& ctx) {
    std::string source = m.source.empty() ? m.type : m.source;
    bool dev = m.type == "tmpfs" && t.dest == "/dev";
    auto top = mount_fresh(t, m.type, source, opts.flags & ~(MS_BIND | MS_REC), opts.data, dev || needs_finish(opts));
    if (!top) return fail(top.error());
    if (!*top) return {};
    if (auto s = finish(t, top->get(), opts); !s) return s;
    if (dev) return populate_default_dev(top->get(), t.shown, ctx.new_user_ns);
    return {};
}

bool host_is_cgroup2_only() {
    struct statfs st {};
    return ::statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

// "cpu,cpuacct" is reachable as "cpu" and "cpuacct" too, as on the host.
Status link_comounted(int dir_fd, const std::string& name, const Target& t) {
    if (name.find(',') == std::string::npos) return {};
    std::size_t pos = 0;
    while (pos <= name.size()) {
        std::size_t comma = std::min(name.find(',', pos), name.size());
        std::string part = name.substr(pos, comma - pos);
        pos = comma + 1;
        if (part.empty() || part.find('=') != std::string::npos) continue;
        if (::symlinkat(name.c_str(), dir_fd, part.c_str()) != 0 && errno != EEXIST)
            return fail(sys_error("symlink", t.shown + "/" + part));
    }
    return {};
}

// One hierarchy's directory bound into the tmpfs this mount just made (tmpfs_fd, its root): a
// fresh tmpfs in the container's private mount namespace holds nothing but what we put there,
// so the directory made here is named under /proc/self/fd/N with no walk from the container's
// root. Two calls per hierarchy, eight hierarchies per container on a v1 host; the flags follow
// for the whole tree at once (apply_cgroup_v1). A name that is already there (a co-mounted
// hierarchy's link) is opened without following it.
Status bind_hierarchy(int tmpfs_fd, const Target& t, const std::string& host_path) {
    std::string name = t.dest.substr(t.dest.find_last_of('/') + 1);
    std::string point = fd_path(tmpfs_fd) + "/" + name;
    UniqueFd existing;
    if (::mkdirat(tmpfs_fd, name.c_str(), 0755) != 0) {
        if (errno != EEXIST) return fail(sys_error("mkdir", t.shown));
        existing.reset(::openat(tmpfs_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!existing) return fail(sys_error("open", t.shown));
        point = fd_path(existing.get());
    }
    if (::mount(host_path.c_str(), point.c_str(), nullptr, MS_BIND, nullptr) != 0)
        return fail(sys_error("bind mount " + host_path + " on", t.shown));
    return {};
}

// The per-mount flags of the tmpfs and of every hierarchy bound in it: one recursive
// mount_setattr; before 5.12 (ENOSYS) a remount of each bind, then of the tmpfs. The tmpfs
// stayed writable until the directories and links existed; nothing runs in the container yet.
Status set_cgroup_tree_flags(int tmpfs_fd, const Target& t, const RootfsContext& ctx, unsigned long set,
                             unsigned long clear) {
    auto whole = set_tree_flags(fd_path(tmpfs_fd), set, clear, t.shown);
    if (whole || whole.error().err != ENOSYS) return whole;
    for (const auto& entry : ctx.cgroups.v1) {
        Target sub = sub_target(t, entry.first);
        // Opened after the bind, so it names the bind's root: the mount to remount.
        UniqueFd bound(::openat(tmpfs_fd, entry.first.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!bound) return fail(sys_error("open", sub.shown));
        if (auto s = remount_bind(fd_path(bound.get()), set, clear, sub.shown); !s) return s;
    }
    if (!(set & MS_RDONLY)) return {};
    return remount_bind(fd_path(tmpfs_fd), MS_RDONLY, 0, t.shown);
}

Status apply_cgroup_v1(const Target& t, const MountOptions& opts, const RootfsContext& ctx) {
    unsigned long mask = per_mount_flags_mask();
    auto top = mount_fresh(t, "tmpfs", "tmpfs", opts.flags & mask & ~MS_RDONLY, "mode=755");
    if (!top) return fail(top.error());
    for (const auto& [name, host_path] : ctx.cgroups.v1) {
        if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
            return fail(plain_error("mount cgroup on", t.shown, "bad hierarchy name \"" + name + "\""));
        if (auto s = bind_hierarchy(top->get(), sub_target(t, name), host_path); !s) return s;
        if (auto s = link_comounted(top->get(), name, t); !s) return s;
    }
    if (auto s = set_cgroup_tree_flags(top->get(), t, ctx, opts.flags & mask, opts.cleared & mask); !s) return s;
    return finish(t, top->get(), opts);
}

Status apply_cgroup(const Target& t, const MountOptions& opts, const RootfsContext& ctx) {
    bool unified = ctx.cgroups.unified || (ctx.cgroups.v1.empty() && host_is_cgroup2_only());
    if (!unified) return apply_cgroup_v1(t, opts, ctx);
    unsigned long mask = per_mount_flags_mask();
    Result<UniqueFd> top = ctx.new_cgroup_ns || ctx.cgroups.v2.empty()
                               ? mount_fresh(t, "cgroup2", "cgroup2", opts.flags & mask, "", needs_finish(opts))
                               : rootfs::bind(t, ctx.cgroups.v2, false, opts.flags & mask, opts.cleared & mask);
    // Without a network namespace of its own the container's /sys is the host's, bound
    // recursively, so /sys/fs/cgroup already holds the host's cgroup2 mount; the kernel refuses
    // the same superblock on top of it (EBUSY). Bind the container's own cgroup instead, as
    // runc does, so it still sees only its sub-tree.
    if (!top && top.error().err == EBUSY && !ctx.cgroups.v2.empty())
        top = rootfs::bind(t, ctx.cgroups.v2, false, opts.flags & mask, opts.cleared & mask);
    // A rootless container without a cgroup (nothing delegated) in a user namespace that owns no
    // cgroup namespace: the kernel refuses cgroup2 (EPERM). An empty tmpfs says "no cgroup"
    // instead of showing the host's tree (runc leaves the mount out then).
    if (!top && top.error().err == EPERM && ctx.new_user_ns && ctx.cgroups.v2.empty() && ctx.cgroups.v1.empty())
        return apply_cgroup_v1(t, opts, ctx);
    if (!top) return fail(top.error());
    if (!*top) return {};
    return finish(t, top->get(), opts);
}

void record_notes(const MountOptions& opts, const Target& t, const RootfsContext& ctx) {
    if (ctx.notes == nullptr) return;
    for (const auto& n : opts.notes) ctx.notes->push_back(t.shown + ": " + n);
}

}  // namespace

std::string clean_destination(const std::string& destination) {
    std::string out;
    std::size_t pos = 0;
    while (pos <= destination.size()) {
        std::size_t slash = std::min(destination.find('/', pos), destination.size());
        std::string part = destination.substr(pos, slash - pos);
        pos = slash + 1;
        if (part.empty() || part == ".") continue;
        out += "/" + part;
    }
    return out.empty() ? "/" : out;
}

Status apply_mount(const spec::Mount& m, int root_fd, const std::string& rootfs, const RootfsContext& ctx,
                   int idmapped_tree) {
    auto opts = parse_mount_options(m.options);
    if (!opts) {
        // "parse mount option /data: options[2] "idmap": idmapped mounts are not supported ..."
        opts.error().detail = opts.error().object + " " + opts.error().detail;
        opts.error().object = m.destination;
        return fail(opts.error());
    }
    std::string dest = clean_destination(m.destination);
    Target t{root_fd, dest, shown_path(rootfs, dest)};
    if (dest == "/") return fail(plain_error(mount_step(m.type), t.shown, "mounting over the root is not allowed"));
    record_notes(*opts, t, ctx);
    bool idmapped = opts->idmap != MountOptions::Idmap::none || !m.uid_mappings.empty();
    if (idmapped && idmapped_tree < 0)
        return fail(plain_error("idmap mount", t.shown,
                                "no idmapped tree was prepared for it (prepare_idmapped_mounts, before the "
                                "container's namespaces)"));
    if (opts->is_bind() || m.type == "bind") return apply_bind(t, m, *opts, idmapped_tree);
    if (m.type == "cgroup") return apply_cgroup(t, *opts, ctx);
    if (m.type == "sysfs" && !ctx.new_network_ns) return apply_host_sysfs(t, *opts);
    return apply_regular(t, m, *opts, ctx);
}

Status apply_mounts(const std::vector<spec::Mount>& mounts, const std::string& rootfs, const RootfsContext& ctx,
                    const std::vector<int>* idmapped_trees) {
    if (mounts.empty()) return {};  // no volumes, usually: no lookup of the root for nothing
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail(sys_error("open rootfs", rootfs));
    for (std::size_t i = 0; i < mounts.size(); ++i) {
        int tree = idmapped_trees && i < idmapped_trees->size() ? (*idmapped_trees)[i] : -1;
        if (auto s = apply_mount(mounts[i], root.get(), rootfs, ctx, tree); !s) return s;
    }
    return {};
}

}  // namespace ctb::rootfs

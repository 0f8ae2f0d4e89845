#include "runtime/rootfs/idmap.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "runtime/rootfs/mount_options.hpp"

namespace ctb::rootfs {
namespace {

// struct clone_args of <linux/sched.h> (that header clashes with <sched.h>).
struct CloneArgs {
    std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};

std::string map_text(const std::vector<spec::IdMapping>& maps) {
    std::string out;
    for (const auto& m : maps) out += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
    return out;
}

// The kernel takes a map in one write(2) only.
Status write_map(pid_t pid, const char* file, const std::vector<spec::IdMapping>& maps, const std::string& field) {
    std::string path = fmt::format("/proc/{}/{}", pid, file);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    std::string text = map_text(maps);
    if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        auto e = sys_error("write " + std::string(file) + " for", field);
        e.detail = "mapping " + text.substr(0, text.find('\n'));
        return fail(std::move(e));
    }
    return {};
}

// The child that holds the new user namespace while its maps are written: it waits for EOF on
// the pipe and exits. Killed and reaped on every path.
struct HolderChild {
    pid_t pid = -1;
    UniqueFd keep_alive;  // write end: closing it lets the child go
    ~HolderChild() {
        keep_alive.reset();
        if (pid <= 0) return;
        ::kill(pid, SIGKILL);  // our own child, by pid
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
};

// "ext4" for the filesystem that holds `path` (its st_dev in /proc/self/mountinfo); "" unknown.
std::string filesystem_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "";
    std::string dev = fmt::format("{}:{}", major(st.st_dev), minor(st.st_dev));
    std::ifstream in("/proc/self/mountinfo");
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string id, parent, majmin;
        fields >> id >> parent >> majmin;
        if (majmin != dev) continue;
        std::size_t sep = line.find(" - ");
        if (sep == std::string::npos) continue;
        std::istringstream rest(line.substr(sep + 3));
        std::string type;
        rest >> type;
        return type;
    }
    return "";
}

// Why the kernel refused MOUNT_ATTR_IDMAP, in the terms of mount_setattr(2).
std::string refusal(int err, const std::string& source) {
    std::string fs = filesystem_of(source);
    std::string on = fmt::format("mount_setattr MOUNT_ATTR_IDMAP on {} ({} filesystem)", source, fs.empty() ? "unknown" : fs);
    switch (err) {
    case EINVAL: return on + ": this filesystem (or this kernel) does not support idmapped mounts";
    case EPERM: return on + ": needs CAP_SYS_ADMIN over the filesystem's user namespace (root on the host)";
    case ENOSYS: return on + ": the kernel has no mount_setattr (Linux 5.12 or later is needed)";
    default: return on;
    }
}

bool is_bind(const spec::Mount& m, const MountOptions& opts) { return opts.is_bind() || m.type == "bind"; }

// The mapping config.md prescribes for this mount (see idmap.hpp).
Result<std::pair<const std::vector<spec::IdMapping>*, const std::vector<spec::IdMapping>*>> mapping_for(
    const spec::Mount& m, const spec::Linux& linux, bool new_user_ns) {
    if (!m.uid_mappings.empty()) return std::pair{&m.uid_mappings, &m.gid_mappings};
    if (new_user_ns && !linux.uid_mappings.empty() && !linux.gid_mappings.empty())
        return std::pair{&linux.uid_mappings, &linux.gid_mappings};
    return fail(plain_error("idmap mount", m.destination,
                            "the mount has no uidMappings/gidMappings and the container has no user namespace "
                            "whose mapping it could take"));
}

Result<UniqueFd> prepare_one(const spec::Mount& m, const MountOptions& opts, const spec::Linux& linux, bool new_user_ns) {
    if (!is_bind(m, opts))
        return fail(plain_error("idmap mount", m.destination,
                                fmt::format("only bind mounts can be idmapped here (type \"{}\" without bind/rbind)", m.type)));
    auto maps = mapping_for(m, linux, new_user_ns);
    if (!maps) return fail(maps.error());
    std::string object = "mounts[" + m.destination + "]";
    auto userns = make_user_namespace(*maps->first, *maps->second, object);
    if (!userns) return fail(userns.error());
    unsigned clone_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (opts.is_recursive_bind() ? AT_RECURSIVE : 0);
    UniqueFd tree(::open_tree(AT_FDCWD, m.source.c_str(), clone_flags));
    if (!tree) return fail(sys_error("open_tree " + m.source + " for idmap mount", m.destination));
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<std::uint64_t>(userns->get());
    unsigned flags = AT_EMPTY_PATH | (opts.idmap == MountOptions::Idmap::recursive ? AT_RECURSIVE : 0);
    if (::mount_setattr(tree.get(), "", flags, &attr, sizeof attr) != 0) {
        auto e = sys_error("idmap mount", m.destination);
        e.detail = refusal(e.err, m.source);
        return fail(std::move(e));
    }
    return tree;  // the user namespace fd closes here: the mount keeps its own reference
}

}  // namespace

bool wants_idmapped_mounts(const std::vector<spec::Mount>& mounts) {
    for (const auto& m : mounts) {
        if (!m.uid_mappings.empty() || !m.gid_mappings.empty()) return true;
        for (const auto& o : m.options)
            if (o == "idmap" || o == "ridmap") return true;
    }
    return false;
}

Result<UniqueFd> make_user_namespace(const std::vector<spec::IdMapping>& uid_maps,
                                     const std::vector<spec::IdMapping>& gid_maps, const std::string& object) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail(sys_error("pipe", object));
    UniqueFd wait_end(pipe_fds[0]);
    HolderChild child;
    child.keep_alive = UniqueFd(pipe_fds[1]);
    CloneArgs args{};
    args.flags = CLONE_NEWUSER;
    args.exit_signal = SIGCHLD;
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return fail(sys_error("clone3 CLONE_NEWUSER for", object));
    if (pid == 0) {
        ::close(pipe_fds[1]);
        char byte;
        while (::read(pipe_fds[0], &byte, 1) < 0 && errno == EINTR) {
        }
        ::_exit(0);
    }
    child.pid = static_cast<pid_t>(pid);
    if (auto s = write_map(child.pid, "uid_map", uid_maps, object + ".uidMappings"); !s) return fail(s.error());
    if (auto s = write_map(child.pid, "gid_map", gid_maps, object + ".gidMappings"); !s) return fail(s.error());
    std::string ns = fmt::format("/proc/{}/ns/user", child.pid);
    UniqueFd fd(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error("open", ns));
    return fd;
}

Result<std::vector<UniqueFd>> prepare_idmapped_mounts(const spec::Spec& spec, bool new_user_ns) {
    std::vector<UniqueFd> out(spec.mounts.size());
    if (!wants_idmapped_mounts(spec.mounts)) return out;
    for (std::size_t i = 0; i < spec.mounts.size(); ++i) {
        const spec::Mount& m = spec.mounts[i];
        auto opts = parse_mount_options(m.options);
        if (!opts) continue;  // apply_mount reports it, naming the option
        if (opts->idmap == MountOptions::Idmap::none && m.uid_mappings.empty()) continue;
        auto tree = prepare_one(m, *opts, spec.linux, new_user_ns);
        if (!tree) return fail(tree.error());
        out[i] = std::move(*tree);
    }
    return out;
}

Status attach_idmapped_tree(int tree_fd, int point_fd, const std::string& shown) {
    if (::move_mount(tree_fd, "", point_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
        return fail(sys_error("move idmapped mount onto", shown));
    return {};
}

}  // namespace ctb::rootfs

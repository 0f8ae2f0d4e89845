#include "benches/start/minimal_container.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>
#include <fmt/format.h>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "runtime/cgroups/detect.hpp"
#include "common/clone_on_stack.hpp"
#include "runtime/security/capabilities.hpp"
#include "runtime/spec/parse.hpp"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

namespace ctb::bench {
namespace {

// The kernel's struct mount_attr (glibc 2.36 declares no wrapper).
struct MountAttr {
    std::uint64_t attr_set, attr_clr, propagation, userns_fd;
};

// A child step that failed: which, and errno. Sent over a close-on-exec pipe, so the parent
// reads EOF when the exec worked and pays no extra wait for it (it reads after waitpid).
struct ChildFailure {
    int step;
    int err;
};

constexpr const char* kSteps[] = {
    "join cgroup (tasks)", "unshare cgroup namespace", "make / rprivate", "mkdir rootfs", "mount overlay rootfs",
    "mount proc", "mount /dev tmpfs", "mknod /dev node", "symlink /dev link", "mount devpts", "mount /dev/shm",
    "mount mqueue", "mount sysfs", "mount cgroup tmpfs", "bind cgroup hierarchy",
    "symlink co-mounted hierarchy", "make the cgroup tree read-only", "pivot_root", "make old root rslave",
    "unmount old root", "mask path", "make path read-only", "sethostname", "bring lo up", "setrlimit",
    "drop bounding capability", "capset", "no_new_privs", "execve /bin/true", "join session keyring",
    "set user and groups", "clear ambient capabilities"};

// Everything the child needs, computed before clone3: the child only makes system calls.
struct ChildPlan {
    const MinimalPlan* plan;
    int error_fd;  // write end, close-on-exec
    std::string rootfs, overlay_options;
    std::string keyring;  // "_ses.<cgroup leaf>"
    std::vector<std::string> cgroup_dirs;  // v1: the container's directory in each hierarchy
    std::string tasks;                     // v1: `tasks` below each hierarchy's mount point
};

[[noreturn]] void child_fail(const ChildPlan& c, int step) {
    ChildFailure f{step, errno};
    [[maybe_unused]] auto n = ::write(c.error_fd, &f, sizeof f);
    ::_exit(127);
}

void must(const ChildPlan& c, bool ok, int step) {
    if (!ok) child_fail(c, step);
}

int mount_at(const std::string& root, const char* dest, const char* source, const char* type, unsigned long flags,
             const char* data) {
    return ::mount(source, (root + dest).c_str(), type, flags, data);
}

void make_dev(const ChildPlan& c) {
    const std::string dev = c.rootfs + "/dev";
    struct Node {
        const char* name;
        unsigned major, minor;
    };
    for (Node n : {Node{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}}) {
        std::string path = dev + "/" + n.name;
        must(c, ::mknod(path.c_str(), S_IFCHR | 0666, ::makedev(n.major, n.minor)) == 0, 7);
        must(c, ::chmod(path.c_str(), 0666) == 0, 7);  // mknod's mode went through the umask
    }
    for (auto [name, target] : {std::pair{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
                                {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
                                {"core", "/proc/kcore"}})
        must(c, ::symlink(target, (dev + "/" + name).c_str()) == 0, 8);
    must(c, ::mkdir((dev + "/pts").c_str(), 0755) == 0 || errno == EEXIST, 9);
    must(c, mount_at(c.rootfs, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                     "newinstance,ptmxmode=0666,mode=0620,gid=5") == 0, 9);
    must(c, ::mkdir((dev + "/shm").c_str(), 0755) == 0 || errno == EEXIST, 10);
    must(c, mount_at(c.rootfs, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV,
                     "mode=1777,size=65536k") == 0, 10);
    must(c, ::mkdir((dev + "/mqueue").c_str(), 0755) == 0 || errno == EEXIST, 11);
    must(c, mount_at(c.rootfs, "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, nullptr) == 0, 11);
}

void mount_cgroup_tree(const ChildPlan& c) {
    const unsigned long flags = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME;
    std::string top = c.rootfs + "/sys/fs/cgroup";
    if (c.plan->cgroup_v2) {
        must(c, ::mount("cgroup2", top.c_str(), "cgroup2", flags | MS_RDONLY, nullptr) == 0, 13);
        return;
    }
    must(c, ::mount("tmpfs", top.c_str(), "tmpfs", flags, "mode=755") == 0, 13);
    for (std::size_t i = 0; i < c.plan->hierarchies.size(); ++i) {
        const auto& h = c.plan->hierarchies[i];
        std::string dest = top + "/" + h.name;
        must(c, ::mkdir(dest.c_str(), 0755) == 0, 14);
        must(c, ::mount(c.cgroup_dirs[i].c_str(), dest.c_str(), nullptr, MS_BIND, nullptr) == 0, 14);
        if (h.name.find(',') == std::string::npos) continue;
        std::size_t pos = 0;
        while (pos <= h.name.size()) {
            std::size_t comma = std::min(h.name.find(',', pos), h.name.size());
            std::string part = h.name.substr(pos, comma - pos);
            pos = comma + 1;
            must(c, ::symlink(h.name.c_str(), (top + "/" + part).c_str()) == 0 || errno == EEXIST, 15);
        }
    }
    // The flags on the tmpfs and every bind in it at once, as the runtime sets them.
    MountAttr ro{MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_RELATIME,
                 MOUNT_ATTR__ATIME, 0, 0};
    must(c, ::syscall(SYS_mount_setattr, AT_FDCWD, top.c_str(), AT_RECURSIVE, &ro, sizeof ro) == 0, 16);
}

void change_root(const ChildPlan& c) {
    must(c, ::chdir(c.rootfs.c_str()) == 0, 17);
    must(c, ::syscall(SYS_pivot_root, ".", ".") == 0, 17);
    must(c, ::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) == 0, 18);
    must(c, ::umount2(".", MNT_DETACH) == 0, 19);
    must(c, ::chdir("/") == 0, 19);
}

void mask_and_protect(const ChildPlan& c) {
    for (const char* p : {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}) {
        struct stat st {};
        if (::stat(p, &st) != 0) continue;  // the runtime skips absent paths too
        if (S_ISDIR(st.st_mode))
            must(c, ::mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0, 20);
        else
            must(c, ::mount("/dev/null", p, nullptr, MS_BIND, nullptr) == 0, 20);
    }
    MountAttr ro{MOUNT_ATTR_RDONLY, 0, 0, 0};
    for (const char* p : {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
        // The bind is the existence check, as in the runtime (paths.cpp).
        if (::mount(p, p, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
            must(c, errno == ENOENT || errno == ENOTDIR, 21);
            continue;
        }
        must(c, ::syscall(SYS_mount_setattr, AT_FDCWD, p, AT_RECURSIVE, &ro, sizeof ro) == 0, 21);
    }
}

void set_identity(const ChildPlan& c) {
    must(c, ::sethostname(c.plan->hostname.data(), c.plan->hostname.size()) == 0, 22);
    int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    must(c, sock >= 0 && ::ioctl(sock, SIOCGIFFLAGS, &ifr) == 0, 23);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    must(c, ::ioctl(sock, SIOCSIFFLAGS, &ifr) == 0, 23);
    ::close(sock);
    rlimit nofile{1024, 1024};
    must(c, ::setrlimit(RLIMIT_NOFILE, &nofile) == 0, 24);
    const auto& keep = c.plan->capabilities;
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap)
        if (std::find(keep.begin(), keep.end(), static_cast<std::uint32_t>(cap)) == keep.end())
            must(c, ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0 || errno == EINVAL, 25);
    // process.user 0:0 with no additional gids: the credentials every runtime sets, whatever the
    // creator had (its supplementary groups must not reach the container). Raw calls: glibc's
    // set*id would signal the threads of the memory this child shares.
    must(c, ::syscall(SYS_setgroups, 0, nullptr) == 0, 30);
    must(c, ::syscall(SYS_setresgid, 0, 0, 0) == 0 && ::syscall(SYS_setresuid, 0, 0, 0) == 0, 30);
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    for (auto cap : keep) {
        data[cap / 32].effective |= 1u << (cap % 32);
        data[cap / 32].permitted |= 1u << (cap % 32);
    }
    must(c, ::syscall(SYS_capset, &header, data) == 0, 26);
    must(c, ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0 || errno == EINVAL, 31);
    must(c, ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, 27);
}

[[noreturn]] void child(const ChildPlan& c) {
    // v1: the child moves itself ("0" to each `tasks`), which the kernel does without the global
    // threadgroup rwsem and its RCU grace period; v2: CLONE_INTO_CGROUP put it there already.
    for (const auto& h : c.plan->hierarchies) {
        int fd = ::openat(h.fd->get(), c.tasks.c_str(), O_WRONLY | O_CLOEXEC);
        must(c, fd >= 0 && ::write(fd, "0", 1) == 1, 0);
        ::close(fd);
    }
    // A session keyring of its own, as the runtime's init joins one (a conformance promise:
    // security.escape.keyring); ENOSYS: a kernel without keys, where the runtime joins none either.
    must(c, ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, c.keyring.c_str()) >= 0 || errno == ENOSYS, 29);
    must(c, ::unshare(CLONE_NEWCGROUP) == 0, 1);  // now that we sit in the cgroup: it is our root
    must(c, ::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) == 0, 2);
    must(c, ::mkdir(c.rootfs.c_str(), 0755) == 0, 3);
    must(c, ::mount("overlay", c.rootfs.c_str(), "overlay", 0, c.overlay_options.c_str()) == 0, 4);
    must(c, mount_at(c.rootfs, "/proc", "proc", "proc", 0, nullptr) == 0, 5);
    must(c, mount_at(c.rootfs, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") == 0, 6);
    make_dev(c);
    must(c, mount_at(c.rootfs, "/sys", "sysfs", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, nullptr) == 0, 12);
    mount_cgroup_tree(c);
    change_root(c);
    mask_and_protect(c);
    set_identity(c);
    char arg0[] = "true";
    char* argv[] = {arg0, nullptr};
    char* envp[] = {nullptr};
    ::execve("/bin/true", argv, envp);
    child_fail(c, 28);
}

// ---- parent ----------------------------------------------------------------------------------

// `lines` written one write(2) each to `file` below the mount point `at` (a v1 device rule
// per write, as the kernel takes them).
Status write_text(int at, const std::string& file, std::initializer_list<const char*> lines) {
    int fd = ::openat(at, file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fail(sys_error("open", file));
    for (std::string_view line : lines)
        if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
            int err = errno;
            ::close(fd);
            return fail(sys_error(fmt::format("write {} to", line), file, err));
        }
    ::close(fd);
    return {};
}

Result<std::string> read_text(int at, const std::string& file) {
    UniqueFd fd(::openat(at, file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error("open", file));
    auto text = read_rest(fd.get(), file);
    if (!text) return fail(text.error());
    return trim(*text);
}

// One v1 directory (`dir` below the hierarchy's mount point), set up as the runtime's would be:
// cpuset inherited, device rules written.
Status make_v1_dir(const MinimalHierarchy& h, const std::string& dir) {
    int at = h.fd->get();
    if (::mkdirat(at, dir.c_str(), 0755) != 0) return fail(sys_error("mkdir", h.mount + "/" + dir));
    if (h.cpuset)
        for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
            auto parent = read_text(at, dir.substr(0, dir.rfind('/')) + "/" + file);
            if (!parent) return fail(parent.error());
            if (auto s = write_text(at, dir + "/" + file, {parent->c_str()}); !s) return s;
        }
    if (h.devices) {
        if (auto s = write_text(at, dir + "/devices.deny", {"a"}); !s) return s;
        return write_text(at, dir + "/devices.allow",
                          {"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                           "c 5:0 rwm", "c 5:2 rwm", "c 10:200 rwm", "c 136:* rwm"});
    }
    return {};
}

// ctbench's parent in a cpuset hierarchy, as the runtime leaves it (cgroups/v1.cpp): made when
// absent and given the root's cpus and mems when empty (a parent made by the host probe's mkdir
// is), or every container's copy of its values would be empty and its tasks write ENOSPC.
Status prepare_cpuset_parent(const MinimalHierarchy& h) {
    std::string parent = cgroup::kParentName;
    if (::mkdirat(h.fd->get(), parent.c_str(), 0755) != 0 && errno != EEXIST)
        return fail(sys_error("mkdir", h.mount + "/" + parent));
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        auto mine = read_text(h.fd->get(), parent + "/" + file);
        if (!mine) return fail(mine.error());
        if (!mine->empty()) continue;
        auto root = read_text(h.fd->get(), file);
        if (!root) return fail(root.error());
        if (auto s = write_text(h.fd->get(), parent + "/" + file, {root->c_str()}); !s) return s;
    }
    return {};
}

Result<MountFd> open_mount(const std::string& mount) {
    auto fd = std::make_shared<UniqueFd>(::open(mount.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!*fd) return fail(sys_error("open", mount));
    return fd;
}

struct Cleanup {
    std::vector<std::pair<int, std::string>> cgroup_dirs;  // mount point descriptor, path below it
    std::string dir;
    pid_t child = 0;
    ~Cleanup() {
        if (child > 0) {
            ::kill(child, SIGKILL);  // our own child, by pid
            while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
            }
        }
        for (const auto& [at, d] : cgroup_dirs) ::unlinkat(at, d.c_str(), AT_REMOVEDIR);
        if (!dir.empty() && !remove_known_layout()) {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    }
    // What a container of /bin/true leaves, one rmdir each (nothing writes to its upper layer;
    // the overlay made work/work): as the runtime removes its own state directory, by name. A
    // directory walk costs a getdents64, an fcntl and an fstat per level; it only runs for what
    // is left (a failed start).
    bool remove_known_layout() const {
        for (const char* sub : {"/rootfs", "/work/work", "/work", "/upper", ""})
            if (::rmdir((dir + sub).c_str()) != 0 && errno != ENOENT) return false;
        return true;
    }
};

// The floor's clone: the child shares our memory and we sleep until its exec (CLONE_VM |
// CLONE_VFORK, as posix_spawn does), so no page table of ours is copied, write-protected and torn
// down again at exec: the cheapest way to a process, 0.7 ms below a plain clone here. Its stack:
alignas(64) char g_child_stack[256 * 1024];

Result<pid_t> clone_child(const ChildPlan& c, std::optional<int> cgroup_fd) {
    auto run = [](void* plan) { child(*static_cast<const ChildPlan*>(plan)); };
    long shared = clone3_on_stack(
        c.plan->clone_flags | kCloneVm | kCloneVfork | kCloneClearSighand, cgroup_fd,
        g_child_stack, sizeof g_child_stack, run, const_cast<ChildPlan*>(&c));
    if (shared > 0) return static_cast<pid_t>(shared);
    if (shared != -ENOSYS && shared != -EINVAL)  // else: not x86-64, or a kernel before 5.5
        return fail(sys_error("clone3", fmt::format("flags {:#x}, sharing memory", c.plan->clone_flags),
                              static_cast<int>(-shared)));
    CloneArgs args{};
    args.flags = c.plan->clone_flags;
    args.exit_signal = SIGCHLD;
    if (cgroup_fd) {
        args.flags |= kCloneIntoCgroup;
        args.cgroup = static_cast<std::uint64_t>(*cgroup_fd);
    }
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return fail(sys_error("clone3", fmt::format("flags {:#x}", args.flags)));
    if (pid == 0) child(c);
    return static_cast<pid_t>(pid);
}

Status outcome(int wstatus, int error_fd) {
    ChildFailure f{};
    if (::read(error_fd, &f, sizeof f) == static_cast<ssize_t>(sizeof f) && f.step >= 0 &&
        f.step < static_cast<int>(std::size(kSteps)))
        return fail(sys_error(std::string("minimal container: ") + kSteps[f.step], "", f.err));
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return {};
    return fail(plain_error("minimal container", "/bin/true", fmt::format("wait status {:#x}", wstatus)));
}

}  // namespace

Result<MinimalPlan> minimal_plan(const std::string& image, std::uint64_t clone_flags) {
    MinimalPlan p;
    p.clone_flags = clone_flags & ~static_cast<std::uint64_t>(CLONE_NEWCGROUP);
    p.image = image;
    auto layout = cgroup::detect();
    if (!layout) return fail(layout.error());
    p.cgroup_v2 = layout->mode == cgroup::Mode::v2;
    for (const auto& h : layout->hierarchies) {
        if (p.cgroup_v2 && h.version == 2) {
            auto fd = open_mount(h.mount);
            if (!fd) return fail(fd.error());
            p.v2_mount = h.mount;
            p.v2_fd = *fd;
        }
        if (p.cgroup_v2 || h.version != 1 || h.controllers.empty()) continue;
        auto has = [&](const char* c) { return std::find(h.controllers.begin(), h.controllers.end(), c) != h.controllers.end(); };
        auto fd = open_mount(h.mount);
        if (!fd) return fail(fd.error());
        p.hierarchies.push_back({h.mount, *fd, std::filesystem::path(h.mount).filename(), has("cpuset"), has("devices")});
        if (p.hierarchies.back().cpuset)
            if (auto s = prepare_cpuset_parent(p.hierarchies.back()); !s) return fail(s.error());
    }
    auto process = spec::default_spec().process;  // the bench's spec keeps the default capabilities
    if (!process.capabilities) return fail(plain_error("minimal plan", "process.capabilities", "none in the default spec"));
    auto caps = security::parse_capabilities(process.capabilities->bounding, "process.capabilities.bounding");
    if (!caps) return fail(caps.error());
    for (auto c : *caps) p.capabilities.push_back(static_cast<std::uint32_t>(c));
    return p;
}

Status run_minimal_container(const MinimalPlan& plan, const std::string& dir, const std::string& cgroup) {
    Cleanup cleanup;
    if (::mkdir(dir.c_str(), 0700) != 0) return fail(sys_error("mkdir", dir));
    cleanup.dir = dir;
    for (auto [sub, mode] : {std::pair{"/upper", 0755u}, std::pair{"/work", 0700u}})
        if (::mkdir((dir + sub).c_str(), mode) != 0) return fail(sys_error("mkdir", dir + sub));
    ChildPlan c{&plan, -1, dir + "/rootfs",
                fmt::format("lowerdir={},upperdir={}/upper,workdir={}/work", plan.image, dir, dir), {}, {}, {}};
    c.keyring = "_ses." + cgroup.substr(cgroup.find_last_of('/') + 1);
    std::optional<int> cgroup_fd;
    UniqueFd v2_dir;
    if (plan.cgroup_v2) {
        int at = plan.v2_fd->get();
        if (::mkdirat(at, cgroup.c_str(), 0755) != 0) return fail(sys_error("mkdir", plan.v2_mount + "/" + cgroup));
        cleanup.cgroup_dirs.emplace_back(at, cgroup);
        v2_dir.reset(::openat(at, cgroup.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!v2_dir) return fail(sys_error("open", plan.v2_mount + "/" + cgroup));
        cgroup_fd = v2_dir.get();
    }
    for (const auto& h : plan.hierarchies) {
        if (auto s = make_v1_dir(h, cgroup); !s) {
            ::unlinkat(h.fd->get(), cgroup.c_str(), AT_REMOVEDIR);
            return s;
        }
        cleanup.cgroup_dirs.emplace_back(h.fd->get(), cgroup);
        c.cgroup_dirs.push_back(h.mount + "/" + cgroup);  // the bind mount's source
    }
    c.tasks = cgroup + "/tasks";
    int errors[2];
    if (::pipe2(errors, O_CLOEXEC) != 0) return fail(sys_error("pipe2", "minimal container"));
    UniqueFd errors_r(errors[0]), errors_w(errors[1]);
    c.error_fd = errors_w.get();
    auto pid = clone_child(c, cgroup_fd);
    if (!pid) return fail(pid.error());
    cleanup.child = *pid;
    errors_w.reset();
    int wstatus = 0;
    while (::waitpid(*pid, &wstatus, 0) < 0)
        if (errno != EINTR) return fail(sys_error("waitpid", std::to_string(*pid)));
    cleanup.child = 0;
    return outcome(wstatus, errors_r.get());
}

}  // namespace ctb::bench

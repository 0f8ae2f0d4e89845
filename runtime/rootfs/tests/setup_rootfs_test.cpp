// setup_rootfs end to end: a busybox rootfs, a runc-like spec, pivot_root, and every promise
// checked from inside the new root by trying it (a write fails EROFS, a read returns nothing).
#include <fcntl.h>
#include <linux/magic.h>
#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202  // ipc/mqueue.c; not exported in linux/magic.h
#endif
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <set>
#include <sstream>

#include "common/tests/errno_filter.hpp"
#include "runtime/rootfs/rootfs.hpp"
#include "runtime/rootfs/tests/helpers.hpp"

namespace fs = std::filesystem;
using namespace ctb::rootfs;
using ctb::spec::Mount;
using ctbtest::get;
using ctbtest::Problems;
using ctbtest::put;

namespace {

using SetupRootfsTest = ctbtest::RootfsEnv;

ctb::spec::Spec runc_like_spec(const std::string& bind_source) {
    ctb::spec::Spec s;
    s.mounts = {
        Mount{"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
        Mount{"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
        Mount{"/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
        Mount{"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
        Mount{"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
        Mount{"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
        Mount{"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
        Mount{"/mnt/ro", "bind", bind_source, {"bind", "ro"}},
    };
    s.linux.masked_paths = {"/proc/kcore", "/proc/keys", "/proc/acpi", "/proc/ctb-missing", "/secret"};
    s.linux.readonly_paths = {"/proc/sys", "/proc/bus", "/rodir"};
    s.linux.devices = {{"/dev/ctbnull", "c", 1, 3, 0600, 1000, 1000}};
    s.root.readonly = true;
    return s;
}

// The test process's own cgroups, shaped as the engine would pass a container's.
CgroupMounts own_cgroups() {
    CgroupMounts c;
    struct statfs st {};
    c.unified = ::statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
    std::istringstream lines(get("/proc/self/cgroup"));
    for (std::string line; std::getline(lines, line);) {
        std::size_t a = line.find(':'), b = line.find(':', a + 1);
        std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        if (c.unified && controllers.empty()) c.v2 = "/sys/fs/cgroup" + path;
        if (c.unified) continue;
        std::string name = controllers.empty() ? "unified" : controllers;
        if (name.rfind("name=", 0) == 0) name = name.substr(5);
        if (fs::is_directory(fs::symlink_status("/sys/fs/cgroup/" + name))) c.v1[name] = "/sys/fs/cgroup/" + name + path;
    }
    // Exercise the co-mount links: present cpu and cpuacct as one "cpu,cpuacct" hierarchy.
    if (c.v1.count("cpu") && c.v1.count("cpuacct")) {
        c.v1["cpu,cpuacct"] = c.v1["cpu"];
        c.v1.erase("cpu");
        c.v1.erase("cpuacct");
    }
    return c;
}

std::set<std::string> entries(const std::string& dir) {
    std::set<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename().string());
    return out;
}

// Super options of the mount at mount_point in our mountinfo ("" if none).
std::string super_options(const std::string& mount_point) {
    std::istringstream lines(get("/proc/self/mountinfo"));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream f(line);
        std::string field, mp;
        for (int i = 0; i < 5 && f >> field; ++i) mp = field;
        if (mp == mount_point) return line.substr(line.find(" - ") + 3);
    }
    return "";
}

void check_readonly(Problems& p, const std::string& path_to_create) {
    p.expect_errno(EROFS, "create " + path_to_create, [&] {
        int fd = ::open(path_to_create.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd >= 0) ::close(fd);
        return fd;
    });
}

// Opening for write is enough to prove EROFS; nothing is written if it unexpectedly works.
void check_open_write_refused(Problems& p, const std::string& path) {
    p.expect_errno(EROFS, "open for write " + path, [&] {
        int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
        return fd;
    });
}

void check_devices(Problems& p, dev_t host_pts_dev) {
    p.check(put("/dev/null", "x").empty(), "write /dev/null");
    p.check(get("/dev/null").empty(), "/dev/null reads empty");
    int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    char buf[16] = {1};
    p.check(zero >= 0 && ::read(zero, buf, sizeof buf) == sizeof buf && buf[0] == 0 && buf[15] == 0, "/dev/zero gives zeros");
    if (zero >= 0) ::close(zero);
    int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    p.expect_errno(ENOSPC, "write /dev/full", [&] { return ::write(full, "x", 1); });
    if (full >= 0) ::close(full);
    struct stat st {};
    p.check(::stat("/dev/tty", &st) == 0 && S_ISCHR(st.st_mode) && ::major(st.st_rdev) == 5, "/dev/tty is 5:0");
    p.check(::stat("/dev/urandom", &st) == 0 && (st.st_mode & 0777) == 0666, "/dev/urandom mode 0666");
    p.check(fs::read_symlink("/dev/fd") == "/proc/self/fd", "/dev/fd link");
    p.check(fs::read_symlink("/dev/stderr") == "/proc/self/fd/2", "/dev/stderr link");
    p.check(fs::read_symlink("/dev/ptmx") == "pts/ptmx", "/dev/ptmx link");
    // linux.devices entry: type, numbers, mode and owner as specified.
    p.check(::stat("/dev/ctbnull", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == ::makedev(1, 3) &&
                (st.st_mode & 07777) == 0600 && st.st_uid == 1000 && st.st_gid == 1000,
            "/dev/ctbnull as in linux.devices");
    // devpts: a new instance numbers its ptys from 0 and is not the host's filesystem.
    int ptmx = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    unsigned n = 99;
    p.check(ptmx >= 0 && ::ioctl(ptmx, TIOCGPTN, &n) == 0 && n == 0, "first pty of the new devpts is 0");
    if (ptmx >= 0) ::close(ptmx);
    p.check(::stat("/dev/pts", &st) == 0 && st.st_dev != host_pts_dev, "/dev/pts is not the host's devpts");
    p.check(super_options("/dev/pts").find("ptmxmode=666") != std::string::npos, "devpts ptmxmode");
    struct statfs sfs {};
    p.check(::statfs("/dev/mqueue", &sfs) == 0 && sfs.f_type == MQUEUE_MAGIC, "mqueue at /dev/mqueue");
    p.check(put("/dev/shm/x", "x").empty(), "/dev/shm writable");
}

void check_paths(Problems& p, const CgroupMounts& cg, const std::set<std::string>& host_net) {
    // Kernels without CONFIG_PROC_KCORE have no /proc/kcore: a missing masked path is fine.
    if (fs::exists("/proc/kcore")) p.check(get("/proc/kcore").empty(), "masked /proc/kcore reads empty");
    p.check(get("/proc/keys").empty(), "masked /proc/keys reads empty");
    p.check(entries("/secret").empty(), "masked /secret is empty");
    check_readonly(p, "/secret/x");
    check_open_write_refused(p, "/proc/sys/kernel/hostname");
    struct statvfs ro {};
    unsigned long want = ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC;  // proc's flags kept
    p.check(::statvfs("/proc/sys", &ro) == 0 && (ro.f_flag & want) == want, "/proc/sys flags");
    check_readonly(p, "/rodir/new");
    p.check(get("/rodir/kept") == "kept", "read-only path still readable");
    check_readonly(p, "/newfile");  // read-only root
    check_readonly(p, "/mnt/ro/new");
    p.check(get("/mnt/ro/file") == "bound", "bind source visible");
    p.expect_errno(EROFS, "mkdir in /sys", [] { return ::mkdir("/sys/ctbtest", 0755); });
    p.check(entries("/sys/class/net") == host_net, "without a network namespace /sys is the host's");
    struct statvfs sv {};
    if (::statvfs("/sys/kernel/tracing", &sv) == 0 && fs::exists("/sys/kernel/tracing/trace"))
        p.check(sv.f_flag & ST_RDONLY, "submounts of the bound /sys are read-only too");
    p.expect_errno(EROFS, "mkdir in /sys/fs/cgroup", [] { return ::mkdir("/sys/fs/cgroup/ctbtest", 0755); });
    if (cg.unified) check_open_write_refused(p, "/sys/fs/cgroup/cgroup.procs");
    if (cg.v1.count("memory")) check_open_write_refused(p, "/sys/fs/cgroup/memory/cgroup.procs");
    if (cg.v1.count("cpu,cpuacct")) p.check(fs::read_symlink("/sys/fs/cgroup/cpu") == "cpu,cpuacct", "cpu link");
}

}  // namespace

TEST_F(SetupRootfsTest, PivotedRootHasEverythingTheSpecPromises) {
    std::string tmp = this->tmp();
    auto cg = own_cgroups();
    auto host_net = entries("/sys/class/net");
    auto result = ctbtest::in_private_ns(tmp, [&]() -> std::string {
        std::string rootfs = tmp + "/rootfs";
        if (auto e = ctbtest::make_busybox_rootfs(rootfs); !e.empty()) return e;
        fs::create_directories(rootfs + "/secret");
        fs::create_directories(rootfs + "/rodir");
        fs::create_directories(tmp + "/src");
        if (!put(rootfs + "/secret/file", "secret").empty() || !put(rootfs + "/rodir/kept", "kept").empty() ||
            !put(tmp + "/src/file", "bound").empty() || !put(tmp + "/host-only", "host").empty())
            return "could not write the test files";
        struct stat pts {};
        ::stat("/dev/pts", &pts);
        auto spec = runc_like_spec(tmp + "/src");
        RootfsContext ctx;
        ctx.cgroups = cg;
        auto inside = ctbtest::as_pid1([&]() -> std::string {
            if (auto s = setup_rootfs(spec, rootfs, ctx); !s) return s.error().message();
            Problems p;
            p.check(fs::read_symlink("/proc/self") == "1", "/proc shows the new pid namespace");
            p.check(!fs::exists(tmp + "/host-only") && !fs::exists(tmp), "the old root is reachable");
            p.check(super_options("/").find(tmp) == std::string::npos, "mountinfo shows host paths");
            p.check(fs::exists("/bin/busybox"), "/ is the new root");
            p.check(ctbtest::run({"/bin/sh", "-c", "exit 7"}) == 7, "busybox sh runs in the new root");
            check_devices(p, pts.st_dev);
            check_paths(p, cg, host_net);
            return p.text;
        });
        if (!put(tmp + "/src/after", "x").empty()) inside += "bind source became read-only\n";
        return inside;
    });
    EXPECT_EQ(result, "");
}

TEST_F(SetupRootfsTest, WithoutAPidNamespaceProcShowsTheHostPids) {
    std::string tmp = this->tmp();
    auto result = ctbtest::in_private_ns(tmp, [&]() -> std::string {
        std::string rootfs = tmp + "/rootfs";
        if (auto e = ctbtest::make_busybox_rootfs(rootfs); !e.empty()) return e;
        ctb::spec::Spec spec;
        spec.mounts = {Mount{"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}}};
        spec.linux.rootfs_propagation = "rshared";  // pivot_root must still work
        if (auto s = setup_rootfs(spec, rootfs, RootfsContext{}); !s) return s.error().message();
        Problems p;
        p.check(fs::read_symlink("/proc/self") == std::to_string(::getpid()), "/proc/self is our host pid");
        p.check(std::to_string(::getpid()) != "1", "test runs as pid 1?");
        std::istringstream lines(get("/proc/self/mountinfo"));
        std::string first;
        std::getline(lines, first);
        p.check(first.find(" shared:") != std::string::npos, "rootfsPropagation rshared applied: " + first);
        return p.text;
    });
    EXPECT_EQ(result, "");
}

TEST_F(SetupRootfsTest, FreshSysfsInANewNetworkNamespace) {
    std::string tmp = this->tmp();
    auto result = ctbtest::in_private_ns(tmp, [&]() -> std::string {
        if (::unshare(CLONE_NEWNET) != 0) return "unshare(CLONE_NEWNET) failed";
        std::string rootfs = tmp + "/rootfs";
        if (auto e = ctbtest::make_busybox_rootfs(rootfs); !e.empty()) return e;
        ctb::spec::Spec spec;
        spec.mounts = {Mount{"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}}};
        RootfsContext ctx;
        ctx.new_network_ns = true;
        if (auto s = setup_rootfs(spec, rootfs, ctx); !s) return s.error().message();
        Problems p;
        p.check(entries("/sys/class/net") == std::set<std::string>{"lo"}, "sysfs shows the new netns only");
        p.expect_errno(EROFS, "mkdir in /sys", [] { return ::mkdir("/sys/ctbtest", 0755); });
        return p.text;
    });
    EXPECT_EQ(result, "");
}

// cgroup v2: fresh and rooted at our cgroup with a cgroup namespace, bound without one.
TEST_F(SetupRootfsTest, Cgroup2MountsFreshInACgroupNamespaceAndBoundWithout) {
    std::string unified;  // where the host has cgroup2 mounted, if anywhere
    std::istringstream lines(get("/proc/self/mountinfo"));
    for (std::string line; std::getline(lines, line) && unified.empty();) {
        std::istringstream f(line);
        std::string field, mp;
        for (int i = 0; i < 5 && f >> field; ++i) mp = field;
        if (line.find(" - cgroup2 ") != std::string::npos) unified = mp;
    }
    if (unified.empty()) GTEST_SKIP() << "no cgroup2 hierarchy mounted on this host";
    std::string own = get("/proc/self/cgroup");
    own = own.substr(own.find("0::") + 3);
    own = own.substr(0, own.find('\n'));
    std::string tmp = this->tmp();
    auto result = ctbtest::in_private_ns(tmp, [&]() -> std::string {
        Problems p;
        fs::create_directories(tmp + "/a");
        fs::create_directories(tmp + "/b");
        Mount m{"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "ro"}};
        RootfsContext bound;
        bound.cgroups.unified = true;
        bound.cgroups.v2 = unified + (own == "/" ? "" : own);
        auto s = apply_mounts({m}, tmp + "/a", bound);
        p.check(s.has_value(), "bind: " + (s ? "" : s.error().message()));
        p.check(fs::exists(tmp + "/a/sys/fs/cgroup/cgroup.procs"), "bound cgroup2 has cgroup.procs");
        check_open_write_refused(p, tmp + "/a/sys/fs/cgroup/cgroup.procs");
        if (::unshare(CLONE_NEWCGROUP) != 0) return "unshare(CLONE_NEWCGROUP) failed";
        RootfsContext fresh = bound;
        fresh.new_cgroup_ns = true;
        s = apply_mounts({m}, tmp + "/b", fresh);
        p.check(s.has_value(), "cgroup2: " + (s ? "" : s.error().message()));
        p.check(super_options(tmp + "/b/sys/fs/cgroup").rfind("cgroup2 ", 0) == 0, "a fresh cgroup2 mount");
        check_open_write_refused(p, tmp + "/b/sys/fs/cgroup/cgroup.procs");
        return p.text;
    });
    EXPECT_EQ(result, "");
}

// cgroup v1: the tmpfs and every hierarchy bound in it end read-only, nosuid, nodev and noexec,
// through the one recursive mount_setattr, and through the per-mount remounts where the kernel
// has no mount_setattr.
TEST_F(SetupRootfsTest, CgroupV1TreeIsReadOnlyWithAndWithoutMountSetattr) {
#if !defined(__x86_64__)
    GTEST_SKIP() << "the mount_setattr filter is written for x86-64";
#endif
    auto cg = own_cgroups();
    if (cg.unified || cg.v1.empty()) GTEST_SKIP() << "no cgroup v1 hierarchy on this host";
    std::string tmp = this->tmp();
    auto check_tree = [&](Problems& p, const std::string& root, const std::string& how) {
        Mount m{"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}};
        RootfsContext ctx;
        ctx.cgroups = cg;
        fs::create_directories(root + "/sys/fs/cgroup");
        auto s = apply_mounts({m}, root, ctx);
        p.check(s.has_value(), how + ": " + (s ? "" : s.error().message()));
        std::string top = root + "/sys/fs/cgroup";
        p.expect_errno(EROFS, how + ": mkdir in the tmpfs", [&] { return ::mkdir((top + "/x").c_str(), 0755); });
        const unsigned long want = ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC;
        for (const auto& entry : cg.v1) {
            struct statvfs sv {};
            p.check(::statvfs((top + "/" + entry.first).c_str(), &sv) == 0 && (sv.f_flag & want) == want,
                    how + ": flags of " + entry.first);
        }
        if (cg.v1.count("memory")) check_open_write_refused(p, top + "/memory/cgroup.procs");
    };
    auto result = ctbtest::in_private_ns(tmp, [&]() -> std::string {
        Problems p;
        check_tree(p, tmp + "/a", "mount_setattr");
        // From here on mount_setattr fails ENOSYS, as on a kernel before 5.12.
        if (!ctbtest::answer_syscall_with(SYS_mount_setattr, ENOSYS))
            return p.text + "could not filter mount_setattr\n";
        p.expect_errno(ENOSYS, "the filter", [] { return ::syscall(SYS_mount_setattr, -1, "", 0, nullptr, 0); });
        check_tree(p, tmp + "/b", "remounts");
        return p.text;
    });
    EXPECT_EQ(result, "");
}

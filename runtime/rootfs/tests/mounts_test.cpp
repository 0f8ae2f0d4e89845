// apply_mounts on its own (no pivot): symlinks in the image cannot send a mount outside the
// rootfs, bind remounts keep the flags a user namespace locks, devices fall back to binds where
// mknod is refused, and errors read "<step> <path>: <ERRNO> (...)".
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "common/fd.hpp"
#include "runtime/rootfs/rootfs.hpp"
#include "runtime/rootfs/tests/helpers.hpp"

namespace fs = std::filesystem;
using namespace ctb::rootfs;
using ctb::spec::Mount;
using ctbtest::get;
using ctbtest::Problems;
using ctbtest::put;

namespace {

using MountsTest = ctbtest::RootfsEnv;

dev_t dev_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_dev : 0;
}

std::string apply(const std::vector<Mount>& mounts, const std::string& rootfs, const RootfsContext& ctx = {}) {
    auto s = apply_mounts(mounts, rootfs, ctx);
    return s ? "" : s.error().message();
}

// Map our uid/gid 0 into a new user namespace, then take a mount namespace it owns: every
// mount copied into it is now locked (its nosuid/nodev/ro cannot be cleared from inside).
std::string enter_user_namespace() {
    if (::unshare(CLONE_NEWUSER) != 0) return "unshare(CLONE_NEWUSER) failed";
    if (!put("/proc/self/setgroups", "deny").empty() || !put("/proc/self/uid_map", "0 0 1").empty() ||
        !put("/proc/self/gid_map", "0 0 1").empty())
        return "writing id maps failed";
    if (::unshare(CLONE_NEWNS) != 0) return "unshare(CLONE_NEWNS) in the user namespace failed";
    return "";
}

void check_node(Problems& p, const std::string& path, unsigned major, unsigned minor) {
    struct stat st {};
    p.check(::stat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == ::makedev(major, minor),
            path + " is not " + std::to_string(major) + ":" + std::to_string(minor));
}

}  // namespace

TEST_F(MountsTest, SymlinksCannotLeadAMountOutOfTheRootfs) {
    std::string tmp = this->tmp();
    auto result = ctbtest::in_private_ns(tmp, [&] {
        Problems p;
        std::string rootfs = tmp + "/rootfs", outside = tmp + "/outside";
        fs::create_directories(rootfs + "/etc");
        fs::create_directories(outside);
        (void)put(outside + "/marker", "host");
        (void)put(outside + "/passwd", "host");
        (void)put(tmp + "/src", "bound");
        fs::create_symlink(outside, rootfs + "/abs");                       // absolute, to the host
        fs::create_symlink("../../../../../../.." + tmp + "/outside2", rootfs + "/rel");  // climbs out
        fs::create_symlink(outside + "/passwd", rootfs + "/etc/passwd");    // file leaf, to the host
        std::string err = apply({Mount{"/abs", "tmpfs", "tmpfs", {}}, Mount{"/rel/sub", "tmpfs", "tmpfs", {}},
                                 Mount{"/etc/passwd", "bind", tmp + "/src", {"bind", "ro"}}},
                                rootfs);
        p.check(err.empty(), "apply: " + err);
        p.check(dev_of(outside) == dev_of(tmp) && get(outside + "/marker") == "host", "a mount landed on the host dir");
        p.check(!fs::exists(tmp + "/outside2"), "a directory was created outside the rootfs");
        p.check(get(outside + "/passwd") == "host", "the host file was covered by the bind");
        p.check(dev_of(rootfs + outside) != dev_of(rootfs), "the tmpfs is not inside the rootfs");
        p.check(dev_of(rootfs + tmp + "/outside2/sub") != dev_of(rootfs), "the climbing link was not contained");
        return p.text;
    });
    EXPECT_EQ(result, "");
}

TEST_F(MountsTest, ProcThroughASymlinkIsRefused) {
    std::string tmp = this->tmp();
    auto result = ctbtest::in_private_ns(tmp, [&] {
        std::string rootfs = tmp + "/rootfs";
        fs::create_directories(rootfs + "/fakeproc");
        fs::create_symlink("/fakeproc", rootfs + "/proc");
        std::string err = apply({Mount{"/proc", "proc", "proc", {}}}, rootfs);
        if (err != "mount proc on " + rootfs + "/proc: the destination passes through a symlink") return "got: " + err;
        return std::string();
    });
    EXPECT_EQ(result, "");
}

TEST_F(MountsTest, ErrorsNameTheStepAndThePath) {
    std::string tmp = this->tmp();
    auto result = ctbtest::in_private_ns(tmp, [&] {
        Problems p;
        std::string rootfs = tmp + "/rootfs";
        fs::create_directories(rootfs);
        std::string e1 = apply({Mount{"/x", "ctbnosuchfs", "none", {}}}, rootfs);
        p.check(e1 == "mount ctbnosuchfs on " + rootfs + "/x: ENODEV (No such device)", e1);
        std::string e2 = apply({Mount{"/y", "bind", tmp + "/missing", {"rbind"}}}, rootfs);
        p.check(e2 == "stat bind source " + tmp + "/missing: ENOENT (No such file or directory)", e2);
        std::string e3 = apply({Mount{"/", "tmpfs", "tmpfs", {}}}, rootfs);
        p.check(e3.find("mounting over the root") != std::string::npos, e3);
        ctb::spec::Spec spec;
        spec.linux.rootfs_propagation = "sideways";
        auto s = setup_rootfs(spec, rootfs, {});
        p.check(!s && s.error().object == "linux.rootfsPropagation", "bad rootfsPropagation accepted");
        return p.text;
    });
    EXPECT_EQ(result, "");
}

TEST_F(MountsTest, BindReadOnlyKeepsLockedFlagsInAUserNamespace) {
    std::string tmp = this->tmp();
    auto result = ctbtest::in_private_ns(tmp, [&] {
        Problems p;
        std::string locked = tmp + "/locked", rootfs = tmp + "/rootfs";
        fs::create_directories(locked);
        fs::create_directories(rootfs + "/naive");
        if (::mount("tmpfs", locked.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
            return std::string("mount locked tmpfs failed");
        (void)put(locked + "/file", "data");
        if (auto e = enter_user_namespace(); !e.empty()) return e;
        // What a naive "ro" remount gets: the kernel refuses to drop the locked flags.
        std::string naive = rootfs + "/naive";
        p.check(::mount(locked.c_str(), naive.c_str(), nullptr, MS_BIND, nullptr) == 0, "naive bind");
        p.expect_errno(EPERM, "naive ro remount",
                       [&] { return ::mount(nullptr, naive.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr); });
        std::string err = apply({Mount{"/ro", "bind", locked, {"bind", "ro"}}}, rootfs);
        p.check(err.empty(), "bind ro: " + err);
        struct statvfs sv {};
        p.check(::statvfs((rootfs + "/ro").c_str(), &sv) == 0 &&
                    (sv.f_flag & (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC)) ==
                        (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC),
                "bind is ro and kept nosuid,nodev,noexec");
        p.check(get(rootfs + "/ro/file") == "data", "bind content");
        p.expect_errno(EROFS, "write through ro bind",
                       [&] { return ::open((rootfs + "/ro/new").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644); });
        p.check(put(locked + "/still-writable", "x").empty(), "the source became read-only");
        return p.text;
    });
    EXPECT_EQ(result, "");
}

TEST_F(MountsTest, DevicesAreBoundWhereMknodIsRefused) {
    std::string tmp = this->tmp();
    auto result = ctbtest::in_private_ns(tmp, [&] {
        Problems p;
        std::string rootfs = tmp + "/rootfs", known = tmp + "/known";
        fs::create_directories(rootfs);
        fs::create_directories(known);
        if (auto e = enter_user_namespace(); !e.empty()) return e;
        // Not told about the user namespace: mknod fails EPERM and the bind fallback kicks in.
        std::string err = apply({Mount{"/dev", "tmpfs", "tmpfs", {"nosuid", "mode=755"}}}, rootfs, RootfsContext{});
        p.check(err.empty(), "tmpfs /dev: " + err);
        for (const auto& d : default_devices()) check_node(p, rootfs + "/dev/" + d.name, d.major, d.minor);
        p.check(put(rootfs + "/dev/null", "x").empty() && get(rootfs + "/dev/null").empty(), "bound /dev/null works");
        p.check(fs::read_symlink(rootfs + "/dev/fd") == "/proc/self/fd", "/dev/fd link");
        // Told about it: straight to binds, linux.devices included.
        RootfsContext userns;
        userns.new_user_ns = true;
        err = apply({Mount{"/dev", "tmpfs", "tmpfs", {}}}, known, userns);
        p.check(err.empty(), "tmpfs /dev (userns): " + err);
        check_node(p, known + "/dev/zero", 1, 5);
        ctb::UniqueFd root(::open(known.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        // In a user namespace the host's node at the same path is bound (it must exist there),
        // over whatever the path holds.
        auto s = create_devices({{"/dev/null", "c", 1, 3, 0600, 0, 0}, {"/dev/full", "c", 1, 7, {}, {}, {}}},
                                root.get(), known, true);
        p.check(s.has_value(), "create_devices: " + (s ? "" : s.error().message()));
        check_node(p, known + "/dev/full", 1, 7);
        return p.text;
    });
    EXPECT_EQ(result, "");
}

TEST_F(MountsTest, SpecDevicesAreCreatedWithModeAndOwner) {
    std::string tmp = this->tmp();
    auto result = ctbtest::in_private_ns(tmp, [&] {
        Problems p;
        std::string rootfs = tmp + "/rootfs";
        fs::create_directories(rootfs);
        ctb::UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        auto s = create_devices({{"/dev/net/tun", "c", 10, 200, 0620, 7, 8}, {"/dev/fifo", "p", 0, 0, 0600, {}, {}}},
                                root.get(), rootfs, false);
        p.check(s.has_value(), "create_devices: " + (s ? "" : s.error().message()));
        struct stat st {};
        p.check(::stat((rootfs + "/dev/net/tun").c_str(), &st) == 0 && (st.st_mode & 07777) == 0620 &&
                    st.st_uid == 7 && st.st_gid == 8 && st.st_rdev == ::makedev(10, 200),
                "/dev/net/tun attributes");
        p.check(::stat((rootfs + "/dev/fifo").c_str(), &st) == 0 && S_ISFIFO(st.st_mode), "/dev/fifo is a fifo");
        auto bad = create_devices({{"/dev/x", "q", 1, 1, {}, {}, {}}}, root.get(), rootfs, false);
        p.check(!bad && bad.error().object == "linux.devices[0].type", "bad type accepted");
        return p.text;
    });
    EXPECT_EQ(result, "");
}

// cgroup::at (mount_fds.hpp): paths resolved against the deepest known mount point, the mount
// point's descriptor kept by a resolved path after the mount table changed. Plain directories
// stand in for mount points: the module only opens them. No root needed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "runtime/cgroups/mount_fds.hpp"

using namespace ctb::cgroup;

namespace {

struct TempTree {
    std::string top;
    TempTree() {
        char name[] = "/tmp/ctbench-mountfds-XXXXXX";
        top = ::mkdtemp(name) ? name : "";
        std::filesystem::create_directories(top + "/inner/leaf");
    }
    ~TempTree() {
        at::use_mounts({});
        std::error_code ec;
        std::filesystem::remove_all(top, ec);
    }
};

ino_t inode_of_fd(int fd) {
    struct stat st{};
    return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
}

ino_t inode_of(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

TEST(MountFds, APathResolvesAgainstTheDeepestMountPointItLiesIn) {
    TempTree t;
    ASSERT_FALSE(t.top.empty());
    at::use_mounts({t.top, t.top + "/inner"});

    auto deep = at::resolve(t.top + "/inner/leaf");
    ASSERT_NE(deep.dirfd(), AT_FDCWD);
    EXPECT_EQ(inode_of_fd(deep.dirfd()), inode_of(t.top + "/inner"));
    EXPECT_EQ(deep.relative, "leaf");

    // "inner2" shares a prefix with "inner" but is not below it.
    auto sibling = at::resolve(t.top + "/inner2/x");
    EXPECT_EQ(inode_of_fd(sibling.dirfd()), inode_of(t.top));
    EXPECT_EQ(sibling.relative, "inner2/x");

    EXPECT_EQ(at::resolve(t.top + "/inner").relative, ".");

    auto outside = at::resolve("/proc/self");
    EXPECT_EQ(outside.dirfd(), AT_FDCWD);
    EXPECT_EQ(outside.relative, "/proc/self");
}

TEST(MountFds, TheCallsWorkBelowAMountPoint) {
    TempTree t;
    ASSERT_FALSE(t.top.empty());
    at::use_mounts({t.top});
    std::string dir = t.top + "/inner/made";
    ASSERT_EQ(at::mkdir(dir, 0755), 0) << std::strerror(errno);
    EXPECT_TRUE(at::exists(dir));
    EXPECT_TRUE(std::filesystem::is_directory(dir));
    int fd = at::open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(inode_of_fd(fd), inode_of(dir));
    ::close(fd);
    ASSERT_EQ(at::rmdir(dir), 0) << std::strerror(errno);
    EXPECT_FALSE(at::exists(dir));
    EXPECT_EQ(at::rmdir(dir), -1);
    EXPECT_EQ(errno, ENOENT);
}

TEST(MountFds, AResolvedPathKeepsItsDescriptorWhenTheMountsChange) {
    TempTree t;
    ASSERT_FALSE(t.top.empty());
    at::use_mounts({t.top});
    auto before = at::resolve(t.top + "/inner");
    ASSERT_NE(before.dirfd(), AT_FDCWD);

    at::use_mounts({});
    EXPECT_GE(::fcntl(before.dirfd(), F_GETFD), 0) << "closed under a path still in use";
    EXPECT_EQ(inode_of_fd(before.dirfd()), inode_of(t.top));
    EXPECT_EQ(at::resolve(t.top + "/inner").dirfd(), AT_FDCWD) << "a forgotten mount point is still used";
}

TEST(MountFds, AMountPointThatCannotBeOpenedLeavesThePathAsGiven) {
    at::use_mounts({"/nonexistent-ctbench-mount"});
    auto w = at::resolve("/nonexistent-ctbench-mount/x");
    EXPECT_EQ(w.dirfd(), AT_FDCWD);
    EXPECT_EQ(w.relative, "/nonexistent-ctbench-mount/x");
    EXPECT_FALSE(at::exists("/nonexistent-ctbench-mount/x"));
    at::use_mounts({});
}

// Integration tests of runtime/image (root): the default image is a working root filesystem, and
// imported OCI layers behave as overlayfs layers (whiteouts hide, opaque dirs empty).
// Mounts happen only in children with a private mount namespace; temp dirs are removed.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/child.hpp"
#include "common/files.hpp"
#include "runtime/image/image.hpp"
#include "runtime/image/tests/oci_fixture.hpp"

namespace ctb::image {
namespace {

using testing::LayerSpec;
using testing::TarEntry;
using testing::TempDir;

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

// Runs `/bin/sh -c script` chrooted into rootfs and returns its stdout. The chroot happens in a
// forked child (run_in_child), whose own child execs the shell.
std::string run_in_chroot(const std::string& rootfs, const std::string& script) {
    auto out = run_in_child([&]() -> std::string {
        int pipefd[2];
        if (::pipe(pipefd) != 0) return "pipe failed";
        pid_t pid = ::fork();
        if (pid == 0) {
            ::dup2(pipefd[1], STDOUT_FILENO);
            if (::chroot(rootfs.c_str()) != 0 || ::chdir("/") != 0) ::_exit(126);
            ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(pipefd[1]);
        std::string text;
        char buf[256];
        for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
        int status = 0;
        ::waitpid(pid, &status, 0);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? text : fmt::format("shell status {}", status);
    });
    return out ? *out : out.error().message();
}

TEST(DefaultImage, ExtractsOnceIntoAWorkingRootfs) {
    TempDir cache("cache");
    std::string stale = cache.path() + "/.tmp-busybox-interrupted";  // as if a run was killed
    ASSERT_TRUE(make_dirs(stale + "/rootfs/bin"));
    auto rootfs = ensure_default_image(cache.path());
    ASSERT_TRUE(rootfs) << rootfs.error().message();
    EXPECT_FALSE(exists(stale));
    EXPECT_EQ(*rootfs, cache.path() + "/" + default_image_name() + "/rootfs");
    EXPECT_EQ(::access((*rootfs + "/bin/busybox").c_str(), X_OK), 0);
    EXPECT_EQ(::access((*rootfs + "/usr/bin/ctbench-agent").c_str(), X_OK), 0);
    struct stat tmp_st;
    ASSERT_EQ(::stat((*rootfs + "/tmp").c_str(), &tmp_st), 0);
    EXPECT_EQ(tmp_st.st_mode & 07777, 01777u);
    EXPECT_EQ(run_in_chroot(*rootfs, "echo ok"), "ok\n");
    EXPECT_EQ(run_in_chroot(*rootfs, "id -un; cat /etc/hostname"), "root\nctbench\n");

    struct stat first, second;
    ASSERT_EQ(::stat((*rootfs + "/bin/busybox").c_str(), &first), 0);
    auto again = ensure_default_image(cache.path());
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(*again, *rootfs);
    ASSERT_EQ(::stat((*again + "/bin/busybox").c_str(), &second), 0);
    EXPECT_EQ(first.st_ino, second.st_ino) << "the second call must reuse the cache, not re-extract";
}

TEST(DefaultImage, ConcurrentCallersShareOneExtraction) {
    TempDir cache("concurrent");
    std::vector<pid_t> children;
    for (int i = 0; i < 4; ++i) {
        pid_t pid = ::fork();
        if (pid == 0) ::_exit(ensure_default_image(cache.path()) ? 0 : 1);
        children.push_back(pid);
    }
    for (pid_t pid : children) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    auto rootfs = ensure_default_image(cache.path());
    ASSERT_TRUE(rootfs);
    EXPECT_EQ(run_in_chroot(*rootfs, "echo ok"), "ok\n");
    // Exactly the image dir and the lock file remain: no second copy, no leftover temp dir.
    std::vector<std::string> names;
    if (DIR* d = ::opendir(cache.path().c_str())) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.' || std::string_view(e->d_name).starts_with(".tmp")) names.push_back(e->d_name);
        ::closedir(d);
    }
    EXPECT_EQ(names, std::vector<std::string>{default_image_name()});
    EXPECT_TRUE(exists(cache.path() + "/.lock"));
}

bool is_whiteout(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

std::string xattr(const std::string& path, const char* name) {
    char buf[64];
    ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
    return n < 0 ? "" : std::string(buf, static_cast<std::size_t>(n));
}

// Mounts a read-only overlay of the layers (top-most first in lowerdir) in a private mount
// namespace and reports which of `paths` are visible in it.
std::string visible_in_overlay(const std::vector<std::string>& layers, const std::string& merged,
                               const std::vector<std::string>& paths) {
    auto out = run_in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            return "private mount namespace: " + errno_name(errno);
        std::string opts = "lowerdir=" + layers[1] + ":" + layers[0];
        if (::mount("overlay", merged.c_str(), "overlay", MS_RDONLY, opts.c_str()) != 0)
            return "mount overlay: " + errno_name(errno);
        std::string seen;
        for (const auto& p : paths) seen += p + (exists(merged + "/" + p) ? "=yes " : "=no ");
        return seen;
    });
    return out ? *out : out.error().message();
}

TEST(OciLayout, ImportedLayersActAsOverlayLayers) {
    TempDir tmp("overlay");
    auto layout = testing::write_layout(tmp.path() + "/layout", testing::whiteout_image(), "busybox:test");
    auto layers = import_oci_layout(layout.dir, "busybox:test", tmp.path() + "/layers");
    ASSERT_TRUE(layers) << layers.error().message();
    ASSERT_EQ(layers->size(), 2u);
    EXPECT_EQ((*layers)[0], tmp.path() + "/layers/sha256-" + layout.layer_hex[0]);
    const std::string& upper = (*layers)[1];
    EXPECT_TRUE(is_whiteout(upper + "/file"));
    EXPECT_TRUE(is_whiteout(upper + "/dir2/a"));
    EXPECT_FALSE(exists(upper + "/.wh.file"));
    EXPECT_FALSE(exists(upper + "/opaque/.wh..wh..opq"));
    EXPECT_EQ(xattr(upper + "/opaque", "trusted.overlay.opaque"), "y");
    EXPECT_EQ(xattr((*layers)[0] + "/opaque", "trusted.overlay.opaque"), "");

    std::string merged = tmp.path() + "/merged";
    ASSERT_TRUE(make_dirs(merged));
    EXPECT_EQ(visible_in_overlay(*layers, merged, {"file", "opaque/old", "opaque/new", "dir2/a", "dir2", "etc/keep", "added"}),
              "file=no opaque/old=no opaque/new=yes dir2/a=no dir2=yes etc/keep=yes added=yes ");

    // Importing again reuses the layer dirs (named by digest) instead of extracting anew.
    struct stat before, after;
    ASSERT_EQ(::stat((upper + "/added").c_str(), &before), 0);
    auto again = import_oci_layout(layout.dir, "", tmp.path() + "/layers");
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(*again, *layers);
    ASSERT_EQ(::stat((upper + "/added").c_str(), &after), 0);
    EXPECT_EQ(before.st_ino, after.st_ino);
}

TEST(OciLayout, DropsOverlayXattrsFromLayers) {
    TempDir tmp("xattr");
    TarEntry sneaky = TarEntry::directory("redirected");
    sneaky.xattrs = {{"trusted.overlay.redirect", "/etc"}, {"user.kept", "1"}};
    auto layout = testing::write_layout(tmp.path() + "/layout", {LayerSpec{{sneaky}}});
    auto layers = import_oci_layout(layout.dir, "", tmp.path() + "/layers");
    ASSERT_TRUE(layers) << layers.error().message();
    EXPECT_EQ(xattr((*layers)[0] + "/redirected", "trusted.overlay.redirect"), "");
    EXPECT_EQ(xattr((*layers)[0] + "/redirected", "user.kept"), "1");
}

TEST(OciLayout, RejectsWritingThroughASymlink) {
    TempDir tmp("symlink");
    std::string outside = tmp.path() + "/outside";
    ASSERT_TRUE(make_dirs(outside));
    auto layout = testing::write_layout(tmp.path() + "/layout",
                                        {LayerSpec{{TarEntry::link_to("link", outside),
                                                    TarEntry::regular("link/planted", "x"),
                                                    TarEntry::regular("link/.wh.planted2", "")}}});
    auto layers = import_oci_layout(layout.dir, "", tmp.path() + "/layers");
    ASSERT_FALSE(layers);
    EXPECT_NE(layers.error().message().find("link/planted"), std::string::npos) << layers.error().message();
    EXPECT_FALSE(exists(outside + "/planted"));
    EXPECT_FALSE(exists(outside + "/planted2"));
}

TEST(OciLayout, RejectsEscapeAndCorruptionAfterAGoodLayer) {
    TempDir tmp("reject");
    auto good = testing::whiteout_image()[0];
    auto layout = testing::write_layout(tmp.path() + "/layout",
                                        {good, LayerSpec{{TarEntry::regular("ok", "1"), TarEntry::regular("../escape", "x")},
                                                                   testing::Compression::gzip}});
    auto layers = import_oci_layout(layout.dir, "", tmp.path() + "/layers");
    ASSERT_FALSE(layers);
    EXPECT_NE(layers.error().message().find("../escape"), std::string::npos) << layers.error().message();
    EXPECT_FALSE(exists(tmp.path() + "/layers/escape"));
    EXPECT_FALSE(exists(tmp.path() + "/escape"));
    EXPECT_FALSE(exists(tmp.path() + "/layers/sha256-" + layout.layer_hex[1]));

    // Same size, one byte changed: only the digest can tell.
    std::string blob = layout.dir + "/blobs/sha256/" + layout.layer_hex[0];
    std::string bytes = read_file(blob).value();
    bytes[100] ^= 1;
    testing::write_bytes(blob, bytes);
    layers = import_oci_layout(layout.dir, "", tmp.path() + "/layers2");
    ASSERT_FALSE(layers);
    EXPECT_NE(layers.error().message().find("verify digest of blob sha256:" + layout.layer_hex[0]), std::string::npos)
        << layers.error().message();
    EXPECT_FALSE(exists(tmp.path() + "/layers2/sha256-" + layout.layer_hex[0]));
}

}  // namespace
}  // namespace ctb::image

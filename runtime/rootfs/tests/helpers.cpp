#include "runtime/rootfs/tests/helpers.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/child.hpp"
#include "common/error.hpp"
#include "common/files.hpp"

namespace fs = std::filesystem;

namespace ctbtest {

void Problems::expect_errno(int err, const std::string& what, const std::function<long()>& call) {
    long rc = call();
    int saved_errno = errno;
    if (rc == -1 && saved_errno == err) return;
    text += what + ": expected " + ctb::errno_name(err) + ", got " +
            (rc == -1 ? ctb::errno_name(saved_errno) : "success") + "\n";
}

void RootfsEnv::SetUp() {
    created_state_dir_ = !fs::exists("/run/ctbench");
    base = "/run/ctbench/rootfs-test-" + std::to_string(::getpid());
    ASSERT_TRUE(ctb::make_dirs(tmp()).has_value());
}

void RootfsEnv::TearDown() {
    std::error_code ec;
    fs::remove_all(base, ec);
    if (created_state_dir_) ::rmdir("/run/ctbench");  // only if empty: others may use it now
    EXPECT_FALSE(fs::exists(base)) << base << " left behind";
    auto mountinfo = ctb::read_file("/proc/self/mountinfo");
    ASSERT_TRUE(mountinfo.has_value());
    EXPECT_EQ(mountinfo->find("rootfs-test-"), std::string::npos) << "a mount leaked onto the host";
}

std::string in_private_ns(const std::string& tmp_dir, const std::function<std::string()>& body,
                          std::chrono::seconds timeout) {
    auto result = ctb::run_in_child(
        [&]() -> std::string {
            if (::unshare(CLONE_NEWNS) != 0) return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
            if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
                return std::string("make / rprivate: ") + std::strerror(errno);
            if (::mount("tmpfs", tmp_dir.c_str(), "tmpfs", 0, "mode=755") != 0)
                return std::string("mount tmpfs on ") + tmp_dir + ": " + std::strerror(errno);
            return body();
        },
        timeout);
    return result ? *result : "child failed: " + result.error().message();
}

std::string as_pid1(const std::function<std::string()>& body) {
    if (::unshare(CLONE_NEWPID) != 0) return std::string("unshare(CLONE_NEWPID): ") + std::strerror(errno);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return "pipe2 failed";
    pid_t pid = ::fork();
    if (pid < 0) return "fork failed";
    if (pid == 0) {
        ::close(fds[0]);
        std::string out;
        try {
            // Like a container's init: its own mount namespace, so that pivot_root moves only
            // this process's root (pivot_root moves every process of the namespace).
            out = ::unshare(CLONE_NEWNS) == 0 ? body() : std::string("unshare(CLONE_NEWNS) in pid 1 failed");
        } catch (const std::exception& e) {
            out = std::string("exception: ") + e.what();
        }
        for (std::size_t done = 0; done < out.size();) {
            ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status)) return out + "pid 1 died: status " + std::to_string(status);
    return out;
}

std::string make_busybox_rootfs(const std::string& dir) {
    std::error_code ec;
    for (const char* d : {"/bin", "/proc", "/sys", "/dev", "/tmp", "/etc"}) fs::create_directories(dir + d, ec);
    fs::copy_file("/bin/busybox", dir + "/bin/busybox", fs::copy_options::overwrite_existing, ec);
    if (ec) return "copy busybox: " + ec.message();
    fs::create_symlink("busybox", dir + "/bin/sh", ec);
    return ec ? "link sh: " + ec.message() : "";
}

std::string put(const std::string& path, const std::string& content) {
    auto s = ctb::write_file(path, content);
    return s ? "" : s.error().message();
}

std::string get(const std::string& path) {
    auto r = ctb::read_file(path);
    return r ? *r : "<error: " + r.error().message() + ">";
}

int run(const std::vector<std::string>& argv) {
    pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    int status = 0;
    if (::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

}  // namespace ctbtest

#include "runtime/container/process.hpp"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "runtime/container/sync.hpp"
#include "runtime/security/seccomp.hpp"
#include "runtime/security/security.hpp"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace ctb::container {
namespace {

Status enter_cwd(const spec::Process& p) {
    if (::chdir(p.cwd.c_str()) != 0) return fail(sys_error("chdir to process.cwd", p.cwd));
    // A cwd such as /proc/self/fd/N can land outside the root through a descriptor that is still
    // open here (the CVE-2024-21626 class): the kernel then reports it as unreachable.
    char buf[4096];
    if (::getcwd(buf, sizeof buf) == nullptr || buf[0] != '/')
        return fail(Error{"chdir to process.cwd", p.cwd, ENOENT, "the directory is outside the container's root"});
    return {};
}

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string search_path(const spec::Process& p) {
    for (const auto& e : p.env)
        if (e.starts_with("PATH=")) return e.substr(5);
    return kDefaultPath;
}

// 0 when `path` is a regular file with an execute bit, else the errno execve would give.
int executable_errno(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return errno;
    if (S_ISDIR(st.st_mode) || (st.st_mode & 0111) == 0) return EACCES;
    return 0;
}

}  // namespace

Result<std::string> resolve_executable(const spec::Process& p) {
    if (p.args.empty()) return fail(plain_error("exec", "process.args", "must not be empty"));
    const std::string& name = p.args.front();
    if (name.find('/') != std::string::npos) {
        std::string path = name.starts_with("/") ? name : p.cwd + "/" + name;
        if (int err = executable_errno(path); err != 0) return fail(sys_error("exec", name, err));
        return path;
    }
    std::string dirs = search_path(p);
    int seen = ENOENT;
    for (std::size_t start = 0; start <= dirs.size();) {
        std::size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        std::string dir = dirs.substr(start, end - start);
        start = end + 1;
        std::string path = (dir.empty() ? std::string(".") : dir) + "/" + name;
        int err = executable_errno(path);
        if (err == 0) return path;
        if (err == EACCES) seen = EACCES;
    }
    auto e = sys_error("exec", name, seen);
    e.detail = "searched PATH=" + dirs + " inside the container";
    return fail(std::move(e));
}

Result<bool> hand_seccomp_listener_to_runtime(const spec::Spec& spec, int sync_fd) {
    if (!spec.linux.seccomp || !spec.linux.seccomp->notifies()) return false;
    auto listener = security::load_seccomp_with_listener(*spec.linux.seccomp);
    if (!listener) return fail(listener.error());
    std::string message = nlohmann::json{{"seccompFd", true}}.dump();
    if (auto s = send_with_fd(sync_fd, message, listener->get(), "sync channel"); !s) return fail(s.error());
    return true;  // our copy closes here: the runtime (then the agent) holds the listener
}

Status enter_process_context(const spec::Spec& spec, const spec::Process& p, bool seccomp_loaded) {
    if (auto s = enter_cwd(p); !s) return s;
    // No runtime descriptor may reach the container (the CVE-2024-21626 class): only stdio
    // survives exec. Sync and report sockets are close-on-exec too, so their EOF tells the parent
    // exec worked. Done before seccomp, which need not allow close_range.
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) return fail(sys_error("close_range", "3..~0"));
    const auto& seccomp = seccomp_loaded ? std::optional<spec::Seccomp>() : spec.linux.seccomp;
    return security::apply_process_security(p, seccomp);
}

Error exec_container_process(const spec::Spec& spec, const spec::Process& p, const std::string& executable,
                             bool seccomp_loaded) {
    std::string path = executable;
    if (path.empty()) {
        auto found = resolve_executable(p);
        if (!found) return found.error();
        path = *found;
    }
    if (auto s = enter_process_context(spec, p, seccomp_loaded); !s) return s.error();
    std::vector<char*> argv, envp;
    for (const auto& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : p.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    // execve, not execvp: the path is resolved already, and a file execve refuses (ENOEXEC) is an
    // error, never silently handed to /bin/sh.
    ::execve(path.c_str(), argv.data(), envp.data());
    return sys_error("exec", p.args.front());
}

}  // namespace ctb::container

#include "runtime/container/process.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

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

}  // namespace

Error exec_container_process(const spec::Spec& spec, const spec::Process& p) {
    if (auto s = enter_cwd(p); !s) return s.error();
    // No runtime descriptor may reach the container (the CVE-2024-21626 class): only stdio
    // survives exec. Sync and report sockets are close-on-exec too, so their EOF tells the parent
    // exec worked. Done before seccomp, which need not allow close_range.
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) return sys_error("close_range", "3..~0");
    if (auto s = security::apply_process_security(p, spec.linux.seccomp); !s) return s.error();
    std::vector<char*> argv, envp;
    for (const auto& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : p.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    environ = envp.data();
    ::execvp(argv[0], argv.data());
    return sys_error("exec", p.args.front());
}

}  // namespace ctb::container

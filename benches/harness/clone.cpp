#include "benches/harness/clone.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace ctb::bench {

Result<int> clone3_and_wait(std::uint64_t flags, const std::function<int()>& child, const std::string& what) {
    struct {
        std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
            set_tid_size, cgroup;
    } args{};
    args.flags = flags;
    args.exit_signal = SIGCHLD;
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return fail(sys_error("clone3", what));
    if (pid == 0) ::_exit(child());
    int status = 0;
    while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

}  // namespace ctb::bench

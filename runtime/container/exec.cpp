// exec: one more process inside a running container: its namespaces (through a pidfd), its
// cgroup, and the process settings given (capabilities, user, seccomp of the container).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fmt/format.h>

#include "common/files.hpp"
#include "runtime/cgroups/manager.hpp"
#include "runtime/container/console.hpp"
#include "runtime/container/container.hpp"
#include "runtime/container/process.hpp"
#include "runtime/container/rootless.hpp"
#include "runtime/container/seccomp_agent.hpp"
#include "runtime/container/sync.hpp"
#include "runtime/namespaces.hpp"
#include "runtime/spec/parse.hpp"

namespace ctb::container {
namespace {

// setns(pidfd, flags) joins several namespaces at once, but joining the user namespace one is
// already in is EINVAL: ask only for those that differ.
int namespaces_to_join(pid_t pid) {
    int flags = 0;
    for (const auto& t : ns::all_types()) {
        unsigned long mine = ns::ns_inode("self", t.proc_name);
        unsigned long theirs = ns::ns_inode(std::to_string(pid), t.proc_name);
        if (theirs != 0 && mine != theirs) flags |= t.clone_flag;
    }
    return flags;
}

[[noreturn]] void report_and_exit(int fd, const Error& e) {
    (void)send_message(fd, {{"error", error_to_json(e)}});
    ::_exit(127);
}

// The intermediate child: joins cgroup and namespaces, then forks the process proper (a pid
// namespace only applies to children), reports its host pid ({"pid": N}) and relays its exit
// status; detached, it exits at once and the process is reparented.
[[noreturn]] void joiner(const State& s, const spec::Spec& spec, const spec::Process& p, int report_fd, int console_fd,
                         bool detach) {
    auto layout = rootless::detect_cgroups();
    auto cg = layout ? rootless::open_cgroups(*layout, s) : fail(layout.error());
    if (!cg) report_and_exit(report_fd, cg.error());
    if (auto a = (*cg)->add_process(::getpid()); !a) report_and_exit(report_fd, a.error());
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0));
    if (pidfd < 0) report_and_exit(report_fd, sys_error("pidfd_open", std::to_string(s.pid)));
    // The init's root, taken before setns: a container without a mount namespace of its own
    // (or in a joined one) got its root by chroot, which setns does not reproduce.
    std::string root_link = fmt::format("/proc/{}/root", s.pid);
    int root_fd = ::open(root_link.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) report_and_exit(report_fd, sys_error("open", root_link));
    if (int flags = namespaces_to_join(s.pid); flags && ::setns(pidfd, flags) != 0)
        report_and_exit(report_fd, sys_error("setns into container", s.id));
    ::close(pidfd);
    if (::fchdir(root_fd) != 0 || ::chroot(".") != 0) report_and_exit(report_fd, sys_error("chroot to the root of", s.id));
    ::close(root_fd);
    pid_t child = ::fork();
    if (child < 0) report_and_exit(report_fd, sys_error("fork", "exec process"));
    if (child == 0) {
        // After the chroot: /dev/ptmx is the container's, so is the pty.
        if (p.terminal && console_fd >= 0)
            if (auto t = attach_new_pty(console_fd, p.console_size); !t) report_and_exit(report_fd, t.error());
        // SCMP_ACT_NOTIFY: the listener goes to the runtime (then the agent) before anything else.
        auto notify = hand_seccomp_listener_to_runtime(spec, report_fd);
        if (!notify) report_and_exit(report_fd, notify.error());
        report_and_exit(report_fd, exec_container_process(spec, p, "", *notify));
    }
    if (console_fd >= 0) ::close(console_fd);
    if (auto sent = send_message(report_fd, {{"pid", child}}); !sent || detach) ::_exit(sent ? 0 : 127);
    int wstatus = 0;
    while (::waitpid(child, &wstatus, 0) < 0 && errno == EINTR) {
    }
    ::_exit(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus));
}

constexpr std::chrono::seconds kStartTimeout{30};

Result<int> reap(pid_t pid) {
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0)
        if (errno != EINTR) return fail(sys_error("waitpid", std::to_string(pid)));
    return wstatus;
}

// The joiner's word: the process's host pid, and with SCMP_ACT_NOTIFY the process's seccomp
// listener (the two come from two processes, in either order); or why the process could not be
// made (the joiner then exits: reaped here; the process, if any, is gone too).
Result<pid_t> started_process(int sync_fd, pid_t joiner_pid, bool want_listener, UniqueFd& listener) {
    pid_t pid = -1;
    while (pid < 0 || (want_listener && !listener)) {
        UniqueFd passed;
        auto msg = receive_message(sync_fd, kStartTimeout, &passed);
        if (msg && msg->contains("pid")) {
            pid = msg->value("pid", pid_t{-1});
            continue;
        }
        if (msg && msg->contains("seccompFd") && passed) {
            listener = std::move(passed);
            continue;
        }
        if (pid > 0) ::kill(pid, SIGKILL);  // the process we made, by pid
        (void)reap(joiner_pid);
        if (!msg) return fail(msg.error());
        if (msg->contains("error")) return fail(error_from_json((*msg)["error"]));
        return fail(plain_error("exec", "joiner " + std::to_string(joiner_pid), "exited without a word"));
    }
    return pid;
}

}  // namespace

Result<int> exec(const std::string& root, const std::string& id, const spec::Process& process, int console_fd,
                 const ExecOptions& options) {
    auto c = Container::load(root, id);
    if (!c) return fail(c.error());
    State s = c->state();
    if (s.status != ContainerStatus::running)
        return fail(plain_error("exec in container", id, "is " + to_string(s.status) + ", not running"));
    if (process.args.empty()) return fail(plain_error("exec in container", "process.args", "must not be empty"));
    auto spec = spec::load_spec(state_dir(root, id));
    if (!spec) return fail(spec.error());
    auto sync = make_sync_pair();
    if (!sync) return fail(sync.error());
    pid_t pid = ::fork();
    if (pid < 0) return fail(sys_error("fork", "exec"));
    if (pid == 0) joiner(s, *spec, process, sync->child.get(), console_fd, options.detach);
    sync->child.reset();
    UniqueFd listener;
    bool notify = spec->linux.seccomp && spec->linux.seccomp->notifies();
    auto started = started_process(sync->parent.get(), pid, notify, listener);
    if (!started) return fail(started.error());
    auto handed = notify ? send_to_seccomp_agent(*spec->linux.seccomp, *started, oci_state_json(s), listener.get()) : Status{};
    listener.reset();
    auto written = handed ? write_pid_file(options.pid_file, *started) : Status{};
    if (!handed || !written) {
        ::kill(*started, SIGKILL);  // the process we just made, by pid: nothing stays behind
        (void)reap(pid);
        return fail(!handed ? handed.error() : written.error());
    }
    auto wstatus = reap(pid);
    if (!wstatus) return fail(wstatus.error());
    // Detached: the joiner is gone at once; the process's end of the channel closes at its execve
    // (EOF) or carries why the exec failed.
    auto msg = receive_message(sync->parent.get(), options.detach ? kStartTimeout : std::chrono::milliseconds(100));
    if (msg && msg->contains("error")) return fail(error_from_json((*msg)["error"]));
    if (options.detach) return msg ? 0 : Result<int>(fail(msg.error()));
    return WIFEXITED(*wstatus) ? WEXITSTATUS(*wstatus) : 128 + WTERMSIG(*wstatus);
}

}  // namespace ctb::container

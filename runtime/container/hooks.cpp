#include "runtime/container/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "common/deadline.hpp"
#include "common/fd.hpp"
#include "runtime/log.hpp"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace ctb::container {
namespace {

constexpr std::size_t kMaxOutput = 4096;  // of a failing hook's output, for the error

struct Pipe {
    UniqueFd read, write;
};

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(sys_error("pipe", "hook stdio"));
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// In the forked child: state on stdin, output to the capture pipe, nothing else of ours inherited.
[[noreturn]] void exec_hook(const spec::Hook& hook, int stdin_fd, int output_fd) {
    if (::dup2(stdin_fd, STDIN_FILENO) < 0 || ::dup2(output_fd, STDOUT_FILENO) < 0 ||
        ::dup2(output_fd, STDERR_FILENO) < 0)
        ::_exit(126);
    ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    ::signal(SIGPIPE, SIG_DFL);
    std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env = hook.env;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    std::string msg = fmt::format("exec {}: {}", hook.path, std::strerror(errno));
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg.data(), msg.size());
    ::_exit(127);
}

// Writes the state; a hook that does not read it (and exits) is fine, hence EPIPE is ignored.
void feed_state(int fd, const std::string& state) {
    std::size_t done = 0;
    while (done < state.size()) {
        ssize_t n = ::write(fd, state.data() + done, state.size() - done);
        if (n > 0) done += static_cast<std::size_t>(n);
        else if (n < 0 && errno == EINTR) continue;
        else break;
    }
}

struct Outcome {
    int wstatus = 0;
    bool timed_out = false;
    std::string output;
};

// Collects output until the hook exits or the deadline passes (then SIGKILL, by pid).
Outcome wait_for_hook(pid_t pid, int output_fd, const std::optional<int>& timeout) {
    Outcome out;
    // Without a timeout of its own a hook still may not hang the runtime forever.
    Deadline deadline(std::chrono::seconds(timeout.value_or(120)));
    ::fcntl(output_fd, F_SETFL, O_NONBLOCK);
    char buf[1024];
    for (;;) {
        ssize_t n;
        while ((n = ::read(output_fd, buf, sizeof buf)) > 0)
            if (out.output.size() < kMaxOutput) out.output.append(buf, static_cast<std::size_t>(n));
        pid_t got = ::waitpid(pid, &out.wstatus, WNOHANG);
        if (got == pid) break;
        if (deadline.expired()) {
            ::kill(pid, SIGKILL);  // our own child, by pid
            while (::waitpid(pid, &out.wstatus, 0) < 0 && errno == EINTR) {
            }
            out.timed_out = true;
            break;
        }
        pollfd pfd{output_fd, POLLIN, 0};
        ::poll(&pfd, 1, 20);
    }
    ssize_t n;
    while ((n = ::read(output_fd, buf, sizeof buf)) > 0 && out.output.size() < kMaxOutput)
        out.output.append(buf, static_cast<std::size_t>(n));
    while (!out.output.empty() && (out.output.back() == '\n' || out.output.back() == ' ')) out.output.pop_back();
    return out;
}

Status run_hook(const spec::Hook& hook, const std::string& where, const std::string& state) {
    auto in = make_pipe();
    if (!in) return fail(in.error());
    auto output = make_pipe();
    if (!output) return fail(output.error());
    pid_t pid = ::fork();
    if (pid < 0) return fail(sys_error("fork", where));
    if (pid == 0) exec_hook(hook, in->read.get(), output->write.get());
    in->read.reset();
    output->write.reset();
    auto old = ::signal(SIGPIPE, SIG_IGN);
    feed_state(in->write.get(), state);
    ::signal(SIGPIPE, old);
    in->write.reset();
    Outcome o = wait_for_hook(pid, output->read.get(), hook.timeout);
    std::string said = o.output.empty() ? "" : " (output: " + o.output + ")";
    if (o.timed_out)
        return fail(plain_error("run", where, fmt::format("timed out after {} s and was killed{}",
                                                          hook.timeout.value_or(120), said)));
    if (WIFSIGNALED(o.wstatus))
        return fail(plain_error("run", where, fmt::format("killed by signal {}{}", WTERMSIG(o.wstatus), said)));
    if (WEXITSTATUS(o.wstatus) != 0)
        return fail(plain_error("run", where, fmt::format("exit status {}{}", WEXITSTATUS(o.wstatus), said)));
    return {};
}

std::string hook_name(const std::string& kind, std::size_t i, const spec::Hook& h) {
    return fmt::format("{} hook[{}] {}", kind, i, h.path);
}

}  // namespace

Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& kind, const std::string& state_json) {
    for (std::size_t i = 0; i < hooks.size(); ++i)
        if (auto s = run_hook(hooks[i], hook_name(kind, i, hooks[i]), state_json); !s) return s;
    return {};
}

void run_hooks_warning_only(const std::vector<spec::Hook>& hooks, const std::string& kind, const std::string& state_json) {
    for (std::size_t i = 0; i < hooks.size(); ++i)
        if (auto s = run_hook(hooks[i], hook_name(kind, i, hooks[i]), state_json); !s) rtlog::warning(s.error().message());
}

}  // namespace ctb::container

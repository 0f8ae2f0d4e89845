#include "common/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <exception>

#include "common/deadline.hpp"
#include "common/fd.hpp"

namespace ctb {
namespace {

[[noreturn]] void child_main(const std::function<std::string()>& body, int out) {
    std::string result;
    try {
        result = "ok:" + body();
    } catch (const std::exception& e) {
        result = std::string("exception:") + e.what();
    }
    const char* p = result.data();
    std::size_t left = result.size();
    while (left > 0) {
        ssize_t n = ::write(out, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
}

// Returns false when the deadline passed before EOF.
bool read_until_eof(int fd, Deadline deadline, std::string& out) {
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.remaining());
        pollfd pfd{fd, POLLIN, 0};
        int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) return false;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return true;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace

Result<std::string> run_in_child(const std::function<std::string()>& body,
                                 std::chrono::milliseconds timeout) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(sys_error("pipe2", "probe child"));
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    pid_t pid = ::fork();
    if (pid < 0) return fail(sys_error("fork", "probe child"));
    if (pid == 0) {
        read_end.reset();
        child_main(body, write_end.get());
    }
    write_end.reset();
    std::string out;
    bool finished = read_until_eof(read_end.get(), Deadline(timeout), out);
    if (!finished) ::kill(pid, SIGKILL);  // our own child, by pid
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string who = "probe child " + std::to_string(pid);
    if (!finished) return fail(plain_error("wait for", who, "timed out"));
    if (WIFSIGNALED(status))
        return fail(plain_error("wait for", who, "killed by signal " + std::to_string(WTERMSIG(status))));
    if (out.rfind("ok:", 0) == 0) return out.substr(3);
    if (out.rfind("exception:", 0) == 0) return fail(plain_error("run", who, out.substr(10)));
    return fail(plain_error("run", who, "exited without a result"));
}

}  // namespace ctb

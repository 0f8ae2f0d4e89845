#include "common/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "common/deadline.hpp"
#include "common/fd.hpp"

namespace ctb {
namespace {

bool is_executable(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Child side: wire the pipe to stdout/stderr, detach stdin, exec. Only async-signal-safe calls.
[[noreturn]] void exec_child(const std::vector<char*>& argv, int write_end) {
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::dup2(write_end, STDOUT_FILENO);
    ::dup2(write_end, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    static const char msg[] = "exec failed\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
}

// Read until EOF, the deadline, or the stop marker; returns whether the deadline hit first.
bool collect_output(int fd, const RunOptions& options, std::string& output) {
    Deadline deadline(options.timeout);
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.remaining());
        if (left.count() <= 0) return true;
        pollfd pfd{fd, POLLIN, 0};
        int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return ready == 0;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        if (output.size() < options.max_output) output.append(buf, static_cast<std::size_t>(n));
        if (options.stop_when_output_contains &&
            output.find(*options.stop_when_output_contains) != std::string::npos)
            return false;
    }
}

void fill_status(int status, ProcessResult& result) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
}

}  // namespace

std::optional<std::string> find_executable(const std::string& name) {
    if (name.empty()) return std::nullopt;
    if (name.find('/') != std::string::npos) {
        if (is_executable(name)) return name;
        return std::nullopt;
    }
    std::string path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/local/bin:/usr/bin:/bin";
    path += ":/usr/local/sbin:/usr/sbin:/sbin";
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (dir.empty()) continue;
        std::string candidate = dir + "/" + name;
        if (is_executable(candidate)) return candidate;
    }
    return std::nullopt;
}

Result<ProcessResult> run_process(const std::vector<std::string>& argv, const RunOptions& options) {
    if (argv.empty()) return fail(plain_error("run process", "argv", "empty command"));
    auto exe = find_executable(argv[0]);
    if (!exe) return fail(sys_error("find executable", argv[0], ENOENT));

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(sys_error("pipe2", argv[0]));
    UniqueFd read_end(fds[0]), write_end(fds[1]);

    std::vector<std::string> args = argv;
    args[0] = *exe;
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) return fail(sys_error("fork", argv[0]));
    if (pid == 0) exec_child(cargv, write_end.get());
    write_end.reset();

    ProcessResult result;
    result.timed_out = collect_output(read_end.get(), options, result.output);
    bool stopped_early = !result.timed_out && options.stop_when_output_contains &&
                         result.output.find(*options.stop_when_output_contains) != std::string::npos;
    if (result.timed_out || stopped_early) ::kill(pid, SIGKILL);  // our own child, by pid
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return fail(sys_error("waitpid", std::to_string(pid)));
    }
    fill_status(status, result);
    return result;
}

}  // namespace ctb

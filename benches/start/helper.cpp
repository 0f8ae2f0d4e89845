#include "benches/start/helper.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "common/deadline.hpp"
#include "common/subprocess.hpp"

namespace ctb::bench {

Result<std::string> find_bench_tool(const std::string& name, const char* env_var, const char* build_path) {
    if (const char* env = std::getenv(env_var)) return std::string(env);
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec)
        for (auto candidate : {self.parent_path() / name, self.parent_path() / "../benches" / name})
            if (std::filesystem::exists(candidate)) return candidate.lexically_normal().string();
    if (build_path && std::filesystem::exists(build_path)) return std::string(build_path);
    if (auto found = find_executable(name)) return *found;
    return fail(plain_error("find", name, "not beside ctbench, in the build tree or in PATH"));
}

Result<StartHelper> StartHelper::start(const std::string& fixture_dir, const std::string& image) {
#ifdef CTBENCH_BUILD_HELPER_PATH
    const char* build_path = CTBENCH_BUILD_HELPER_PATH;
#else
    const char* build_path = nullptr;
#endif
    auto exe = find_bench_tool("ctbench-start-helper", "CTBENCH_START_HELPER", build_path);
    if (!exe) return fail(exe.error());
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return fail(sys_error("pipe2", "start helper"));
    UniqueFd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
    std::vector<std::string> args{*exe, fixture_dir, image};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    StartHelper h;
    int rc = ::posix_spawn(&h.pid_, exe->c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return fail(sys_error("spawn", *exe, rc));
    h.to_ = std::move(in_w);
    h.from_ = std::move(out_r);
    return h;
}

Status StartHelper::request(const std::string& line) {
    auto answer = ask(line);
    if (!answer) return fail(answer.error());
    return {};
}

Result<std::string> StartHelper::ask(const std::string& line) {
    std::string text = line + "\n";
    if (::write(to_.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return fail(sys_error("write to", "ctbench-start-helper"));
    std::string answer;
    char c;
    for (;;) {
        ssize_t n = ::read(from_.get(), &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail(plain_error("ctbench-start-helper", line, "exited without an answer"));
        if (c == '\n') break;
        answer += c;
    }
    if (answer == "ok") return std::string();
    if (answer.starts_with("ok ")) return answer.substr(3);
    return fail(plain_error("ctbench-start-helper", line, answer.starts_with("error ") ? answer.substr(6) : answer));
}

StartHelper::~StartHelper() {
    if (pid_ <= 0) return;
    to_.reset();  // EOF: the helper's loop ends
    int status = 0;
    bool gone = retry_until(Deadline(std::chrono::seconds(2)), [&] {
        pid_t got = ::waitpid(pid_, &status, WNOHANG);
        return got == pid_ || (got < 0 && errno != EINTR);
    });
    if (gone) return;
    ::kill(pid_, SIGKILL);  // our own child, by pid
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace ctb::bench

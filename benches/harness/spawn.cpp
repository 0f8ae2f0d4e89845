#include "benches/harness/spawn.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>

#include "common/fd.hpp"
#include "common/subprocess.hpp"

namespace ctb::bench {

Result<std::string> find_ctbench_runtime() {
    if (const char* env = std::getenv("CTBENCH_RUNTIME")) return std::string(env);
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        auto beside = self.parent_path() / "ctbench-runtime";
        if (std::filesystem::exists(beside)) return beside.string();
    }
#ifdef CTBENCH_BUILD_RUNTIME_PATH
    if (std::filesystem::exists(CTBENCH_BUILD_RUNTIME_PATH)) return std::string(CTBENCH_BUILD_RUNTIME_PATH);
#endif
    if (auto found = find_executable("ctbench-runtime")) return *found;
    return fail(plain_error("find", "ctbench-runtime", "not beside ctbench, in the build tree or in PATH"));
}

Status run_quietly(const std::vector<std::string>& argv) {
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    // stderr goes to an anonymous file, read only when the command failed: the error says why
    // (a failure that does not repeat, one in thousands of a churn loop, is explained too).
    UniqueFd errors(::memfd_create("ctbench-run-stderr", MFD_CLOEXEC));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (errors) posix_spawn_file_actions_adddup2(&actions, errors.get(), 2);
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return fail(sys_error("spawn", argv[0], rc));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return fail(sys_error("waitpid", argv[0]));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    std::string said;
    if (errors) {
        char buf[400];
        off_t size = ::lseek(errors.get(), 0, SEEK_END);
        off_t from = size > off_t(sizeof buf) ? size - off_t(sizeof buf) : 0;
        ssize_t n = ::pread(errors.get(), buf, sizeof buf, from);
        if (n > 0) said.assign(buf, static_cast<std::size_t>(n));
    }
    if (said.empty()) said = "(nothing on stderr)";
    return fail(plain_error("run", argv[0] + " " + (argv.size() > 1 ? argv[1] : ""),
                            fmt::format("exit status {}: {}", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), said)));
}

}  // namespace ctb::bench

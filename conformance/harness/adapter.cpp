#include "conformance/harness/adapter.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fmt/format.h>

#include "common/deadline.hpp"
#include "conformance/harness/adapter_internal.hpp"
#include "runtime/spec/parse.hpp"

namespace ctb::conformance {
std::string read_whole_fd(int fd) {
    std::string out;
    char buf[8192];
    for (off_t off = 0;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, off);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        off += n;
    }
    return out;
}

nlohmann::json RunOutput::json() const {
    auto j = nlohmann::json::parse(out, nullptr, false);
    return j.is_discarded() ? nlohmann::json::object() : j;
}

Result<CapturedOutput> CapturedOutput::begin() {
    CapturedOutput c;
    c.out_ = UniqueFd(::memfd_create("ctbench-stdout", MFD_CLOEXEC));
    c.err_ = UniqueFd(::memfd_create("ctbench-stderr", MFD_CLOEXEC));
    if (!c.out_ || !c.err_) return fail(sys_error("memfd_create", "output capture"));
    std::fflush(stdout);
    std::fflush(stderr);
    c.saved_out_ = UniqueFd(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
    c.saved_err_ = UniqueFd(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3));
    if (::dup2(c.out_.get(), STDOUT_FILENO) < 0 || ::dup2(c.err_.get(), STDERR_FILENO) < 0)
        return fail(sys_error("dup2", "output capture"));
    return c;
}

void CapturedOutput::restore_stdio() {
    if (saved_out_) ::dup2(saved_out_.get(), STDOUT_FILENO);
    if (saved_err_) ::dup2(saved_err_.get(), STDERR_FILENO);
    saved_out_.reset();
    saved_err_.reset();
}

RunOutput CapturedOutput::snapshot() const {
    RunOutput r;
    if (out_) r.out = read_whole_fd(out_.get());
    if (err_) r.err = read_whole_fd(err_.get());
    return r;
}

Result<std::unique_ptr<Runtime>> make_runtime(const std::string& name) {
    if (name.empty() || name == "ctbench") return make_library_runtime();
    return make_oci_cli_runtime(name);
}

spec::Spec agent_spec(const std::vector<std::string>& agent_args) {
    spec::Spec s = spec::default_spec();
    s.process.args = {"/usr/bin/ctbench-agent"};
    s.process.args.insert(s.process.args.end(), agent_args.begin(), agent_args.end());
    s.hostname = "ctbench";
    return s;
}

std::string unique_id() {
    static std::atomic<int> counter{0};
    return fmt::format("ctbc-{}-{}", ::getpid(), counter++);
}

std::optional<int> InitReaper::wait(std::chrono::milliseconds timeout) {
    retry_until(Deadline(timeout), [&] {
        if (status_) return true;
        int wstatus = 0;
        pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
        if (r == pid_) status_ = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
        // Not our child (an OCI runtime's init may be reparented) and gone: nothing to wait for.
        else if (r < 0 && errno == ECHILD && ::kill(pid_, 0) != 0) status_ = -1;
        return status_.has_value();
    });
    return status_;
}

}  // namespace ctb::conformance

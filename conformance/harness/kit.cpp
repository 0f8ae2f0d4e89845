#include "conformance/harness/kit.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sstream>

#include "common/files.hpp"
#include "runtime/image/image.hpp"

namespace ctb::conformance {
namespace {

constexpr const char* kScratchParent = "/run/ctbench";
constexpr const char* kScratchPrefix = "case-";

// Scratch dirs of case children that died before their destructor ran (killed at the deadline).
// Only dirs whose pid no longer exists are removed, so a live case keeps its own.
void remove_stale_scratch() {
    DIR* d = ::opendir(kScratchParent);
    if (!d) return;
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (!name.starts_with(kScratchPrefix)) continue;
        pid_t pid = static_cast<pid_t>(std::atoi(name.c_str() + std::char_traits<char>::length(kScratchPrefix)));
        if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(std::string(kScratchParent) + "/" + name);
    }
    ::closedir(d);
    for (const auto& dir : stale) (void)image::remove_tree(dir);
}

}  // namespace

// ---- setup failures ----

[[noreturn]] void setup_failed(Error e) { throw SetupError(std::move(e)); }

[[noreturn]] void setup_failed(const std::string& what) { setup_failed(plain_error(what, "", "")); }

Error with_context(Error e, const std::string& what) {
    if (!what.empty()) e.step = e.step.empty() ? what : what + ": " + e.step;
    return e;
}

void must(const Status& s, const std::string& what) {
    if (!s) setup_failed(with_context(s.error(), what));
}

void must(Status&& s, const std::string& what) { must(static_cast<const Status&>(s), what); }

void check_sys(int rc, const std::string& step, const std::string& object) {
    if (rc != 0) setup_failed(sys_error(step, object));
}

void require(bool ok, const std::string& step, const std::string& object, const std::string& detail) {
    if (!ok) setup_failed(plain_error(step, object, detail));
}

// ---- expectations ----

void Checks::expect(bool ok, const std::string& broken_promise) {
    if (!ok) failed_.push_back(broken_promise);
}

Verdict Checks::verdict(json evidence) const {
    if (ok()) return Verdict::pass(std::move(evidence));
    std::string reason;
    for (const auto& f : failed_) reason += (reason.empty() ? "" : "; ") + f;
    return Verdict::fail(reason, std::move(evidence));
}

// ---- requirements ----

std::vector<Requirement> with(std::vector<Requirement> needs, std::initializer_list<Requirement> more) {
    needs.insert(needs.end(), more.begin(), more.end());
    return needs;
}

// ---- scratch directory ----

ScratchDir::ScratchDir(const std::string& tag) {
    static int counter = 0;
    remove_stale_scratch();
    path_ = fmt::format("{}/{}{}-{}-{}", kScratchParent, kScratchPrefix, ::getpid(), counter++, tag);
    must(make_dirs(kScratchParent));
    check_sys(::mkdir(path_.c_str(), 0755), "mkdir", path_);
}

ScratchDir::~ScratchDir() {
    if (!path_.empty()) (void)image::remove_tree(path_);
}

std::string ScratchDir::mkdir(const std::string& rel) const {
    std::string p = path_ + "/" + rel;
    must(make_dirs(p));
    return p;
}

// ---- containers ----

void Started::stop() {
    if (!c_) return;
    (void)c_->kill(SIGKILL);
    (void)c_->wait(std::chrono::seconds(5));
    c_.reset();
}

std::unique_ptr<Runtime> runtime_under_test(const CaseContext& ctx) {
    return must(make_runtime(ctx.runtime), "runtime " + ctx.runtime);
}

Result<Started> start(Runtime& rt, const RunRequest& request) {
    auto c = rt.start(request);
    if (!c) return fail(c.error());
    return Started(std::move(*c));
}

Started must_start(Runtime& rt, const RunRequest& request) {
    return must(start(rt, request), fmt::format("start container {}", fmt::join(request.spec.process.args, " ")));
}

RunOutput must_run(Runtime& rt, const RunRequest& request) {
    return must(rt.run(request), fmt::format("run container {}", fmt::join(request.spec.process.args, " ")));
}

RunOutput must_exec(RunningContainer& c, const std::vector<std::string>& args) {
    return must(c.exec(args), fmt::format("exec {} in {}", fmt::join(args, " "), c.id()));
}

spec::Spec shell_spec(const std::string& script) {
    spec::Spec s = agent_spec({});
    s.process.args = {"/bin/sh", "-c", script};
    return s;
}

std::vector<std::string> agent_argv(std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    return args;
}

// ---- observations ----

std::vector<json> json_lines(const std::string& text) {
    std::vector<json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        auto j = json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
    }
    return out;
}

json last_json_line(const std::string& text) {
    auto all = json_lines(text);
    return all.empty() ? json::object() : all.back();
}

int errno_of(int rc) { return rc == 0 ? 0 : errno; }

std::string err_name(int err) { return err == 0 ? "ok" : errno_name(err); }

}  // namespace ctb::conformance

// The case kit: everything a conformance case body uses that is not specific to its area, so a
// body contains only the behaviour it proves (LTP's model: TBROK / TFAIL owned by the library).
//
//  - A setup step that cannot be carried out is raised once with `must(...)` / `setup_failed(e)`:
//    a SetupError carrying the project's ctb::Error, turned into an `error` verdict by the runner
//    (runner.cpp). A body never writes `return Verdict::error(...)` for its plumbing.
//  - Expectations are gathered with `Checks` (each failed one names the broken promise); the
//    verdict is pass only when every expectation held, and carries the evidence either way.
//  - One scratch directory (`ScratchDir`), one container handle (`Started`: killed and reaped on
//    every path), one set of spec builders (`shell_spec`, `agent_spec` from adapter.hpp), one
//    JSON-lines reader, one agent path.
//
// The model case is conformance/overlay/xino.cpp; README "Adding a case" walks through it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <initializer_list>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "conformance/harness/adapter.hpp"
#include "conformance/harness/registry.hpp"

namespace ctb::conformance {

using json = nlohmann::json;
using K = Requirement::Kind;

// The agent of the embedded image (tools/agent): what most containers of the cases run.
inline constexpr const char* kAgent = "/usr/bin/ctbench-agent";

// ---- setup failures (TBROK) ------------------------------------------------------------------

// The case's own setup broke (not the behaviour under test). Caught by the runner (and, as a
// std::exception, by the forked-child helpers that report a child's failure to the case).
struct SetupError : std::exception {
    explicit SetupError(Error e) : error(std::move(e)), text(error.message()) {}
    const char* what() const noexcept override { return text.c_str(); }
    Error error;
    std::string text;
};

[[noreturn]] void setup_failed(Error e);
// A setup step that went wrong without an Error of its own (unexpected output, a missing line).
[[noreturn]] void setup_failed(const std::string& what);
// `e` with the case's step `what` in front of its own (errno, object and detail kept).
Error with_context(Error e, const std::string& what);
// Raises the error of a failed Status/Result; `what` (the case's step) is prefixed to the
// error's own step, keeping its object, errno and detail.
void must(const Status& s, const std::string& what = "");
void must(Status&& s, const std::string& what = "");
template <class T>
void must(const Result<T>& r, const std::string& what = "") {
    if (!r) setup_failed(with_context(r.error(), what));
}
template <class T>
    requires(!std::is_void_v<T>)
T must(Result<T>&& r, const std::string& what = "") {
    must(static_cast<const Result<T>&>(r), what);
    return std::move(*r);
}
// Raises sys_error(step, object) when rc != 0 (errno as the call left it).
void check_sys(int rc, const std::string& step, const std::string& object);
// Raises plain_error(step, object, detail) unless `ok`.
void require(bool ok, const std::string& step, const std::string& object, const std::string& detail);

// ---- expectations (TFAIL) --------------------------------------------------------------------

// Collects the expectations that did not hold; the verdict is pass only when none failed, and
// its reason lists every broken promise (not only the first).
class Checks {
public:
    void expect(bool ok, const std::string& broken_promise);
    bool ok() const { return failed_.empty(); }
    Verdict verdict(json evidence) const;

private:
    std::vector<std::string> failed_;
};

// ---- requirements ---------------------------------------------------------------------------

// `needs` plus `more` (an area's usual requirements and a case's own).
std::vector<Requirement> with(std::vector<Requirement> needs, std::initializer_list<Requirement> more);

// ---- scratch directory -----------------------------------------------------------------------

// /run/ctbench/case-<pid>-<n>-<tag>: made on construction (a SetupError when it cannot be), removed
// with everything below it when the object goes (every path). Construction also removes scratch
// dirs of case children that died before their destructor ran (their pid no longer exists).
class ScratchDir {
public:
    explicit ScratchDir(const std::string& tag);
    ScratchDir(ScratchDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
    ScratchDir& operator=(ScratchDir&&) = delete;
    ~ScratchDir();
    const std::string& path() const { return path_; }
    // path()/rel, created (mkdir -p).
    std::string mkdir(const std::string& rel) const;

private:
    std::string path_;
};

// ---- containers ------------------------------------------------------------------------------

// A started container that is killed and reaped, not only deleted, when it goes (on every path),
// so that no zombie init outlives the case whichever adapter runs it.
class Started {
public:
    explicit Started(std::unique_ptr<RunningContainer> c) : c_(std::move(c)) {}
    Started(Started&&) = default;
    Started& operator=(Started&&) = delete;
    ~Started() { stop(); }
    RunningContainer& operator*() const { return *c_; }
    RunningContainer* operator->() const { return c_.get(); }
    RunningContainer* get() const { return c_.get(); }
    void stop();

private:
    std::unique_ptr<RunningContainer> c_;
};

// The runtime under test (a SetupError when it cannot be made).
std::unique_ptr<Runtime> runtime_under_test(const CaseContext& ctx);
// A detached container; its runtime's refusal is returned (the case decides what it means).
Result<Started> start(Runtime& rt, const RunRequest& request);
// A detached container; its runtime's refusal is a SetupError.
Started must_start(Runtime& rt, const RunRequest& request);
// create + start + wait + delete; a runtime failure is a SetupError.
RunOutput must_run(Runtime& rt, const RunRequest& request);
// exec in a running container; a runtime failure is a SetupError.
RunOutput must_exec(RunningContainer& c, const std::vector<std::string>& args);

// A container whose process is /bin/sh -c SCRIPT (busybox of the embedded image).
spec::Spec shell_spec(const std::string& script);
// ctbench-agent with these arguments (an argv).
std::vector<std::string> agent_argv(std::vector<std::string> args);

// ---- observations ----------------------------------------------------------------------------

// Every line of `text` that parses as a JSON object, in order.
std::vector<json> json_lines(const std::string& text);
// The last JSON object line of `text` (the agent prints one), an empty object when none.
json last_json_line(const std::string& text);
// errno of a failed call, 0 on success: `int e = errno_of(::unlink(p))`.
int errno_of(int rc);
// "EPERM" for an errno, "ok" for 0.
std::string err_name(int err);

}  // namespace ctb::conformance

// lifecycle.hooks.order_and_state: the OCI hooks run in the order runtime.md#lifecycle gives
// (createRuntime, createContainer, startContainer, then the process; poststart after
// startContainer; poststop last), each with the container's state on its stdin (the id, the
// init's pid as the host sees it where the state requires one, the bundle, and the status of
// that point: creating, creating, created, running, stopped), and in the namespace config.md#posix-platform-hooks names: createRuntime in the
// runtime's mount namespace, createContainer and startContainer in the container's.
//
// Every hook is /bin/sh appending one line "<kind>|<its mount namespace>|<state JSON>" to a log
// file: the host's dash for the hooks that run in the runtime's namespace (and createContainer,
// whose path resolves there before the root changes), the image's busybox for startContainer.
// The log lives in a scratch directory bound into the container at /ctblog, so the
// startContainer hook and the process write to the same file. Appends are sequential, so the
// order of the lines is the order the hooks ran in. The control is the process's own line: it
// shows the container's namespace, which the runtime's hooks must not have.
#include <unistd.h>

#include <fmt/format.h>
#include <map>
#include <sstream>

#include "common/files.hpp"
#include "conformance/harness/kit.hpp"

namespace ctb::conformance::lifecycle {
namespace {

constexpr const char* kLogDir = "/ctblog";
constexpr const char* kAppend =
    "kind=$1; log=$2; state=$(cat | tr -d '\\n'); echo \"$kind|$(readlink /proc/self/ns/mnt)|$state\" >> \"$log\"";

spec::Hook hook(const std::string& kind, const std::string& log) {
    spec::Hook h;
    h.path = "/bin/sh";
    h.args = {"sh", "-c", kAppend, "sh", kind, log};
    h.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    h.timeout = 10;
    return h;
}

struct Line {
    std::string kind, ns;
    json state;
};

std::vector<Line> parse_log(const std::string& text) {
    std::vector<Line> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        auto a = l.find('|'), b = l.find('|', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        json st = json::parse(l.substr(b + 1), nullptr, false);
        out.push_back({l.substr(0, a), l.substr(a + 1, b - a - 1), st.is_discarded() ? json() : st});
    }
    return out;
}

int index_of(const std::vector<Line>& lines, const std::string& kind) {
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (lines[i].kind == kind) return static_cast<int>(i);
    return -1;
}

std::string readlink_str(const std::string& path) {
    char buf[256];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    return n < 0 ? "" : std::string(buf, static_cast<std::size_t>(n));
}

Verdict order_and_state(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir dir("hooks");
    std::string host_log = dir.path() + "/log", inside_log = std::string(kLogDir) + "/log";
    spec::Spec s = shell_spec(fmt::format("echo \"process|$(readlink /proc/self/ns/mnt)|{{}}\" >> {}", inside_log));
    s.mounts.push_back({kLogDir, "bind", dir.path(), {"bind"}});
    s.hooks.create_runtime = {hook("createRuntime", host_log)};
    s.hooks.create_container = {hook("createContainer", host_log)};
    s.hooks.start_container = {hook("startContainer", inside_log)};
    s.hooks.poststart = {hook("poststart", host_log)};
    s.hooks.poststop = {hook("poststop", host_log)};
    std::string runtime_ns = readlink_str("/proc/self/ns/mnt");  // the case's: the runtime runs in it
    auto out = must_run(*rt, RunRequest{s});
    auto lines = parse_log(read_file(host_log).value_or(""));
    json e = {{"case_mount_ns", runtime_ns}, {"process_status", out.status}, {"log", json::array()}};
    for (const auto& l : lines) e["log"].push_back({{"kind", l.kind}, {"mnt_ns", l.ns}, {"state", l.state}});
    int process = index_of(lines, "process");
    require(process >= 0 && out.status == 0, "control", "the container's process",
            "the process did not run or did not log: " + e.dump() + " stderr " + out.err);
    const std::string& container_ns = lines[process].ns;
    Checks c;
    std::map<std::string, std::string> want_status{{"createRuntime", "creating"}, {"createContainer", "creating"},
                                                   {"startContainer", "created"}, {"poststart", "running"},
                                                   {"poststop", "stopped"}};
    std::string id;
    long host_pid = index_of(lines, "createRuntime") >= 0 ? lines[index_of(lines, "createRuntime")].state.value("pid", 0L) : 0;
    for (const auto& [kind, status] : want_status) {
        int i = index_of(lines, kind);
        c.expect(i >= 0, kind + " did not run");
        if (i < 0) continue;
        const json& st = lines[i].state;
        c.expect(st.value("status", "") == status,
                 fmt::format("{} saw status {}, not {}", kind, st.value("status", "?"), status));
        c.expect(!st.value("id", "").empty() && st.value("bundle", "") != "", kind + " saw no id or bundle in its state");
        if (id.empty()) id = st.value("id", "");
        c.expect(st.value("id", "") == id, kind + " saw another container id than the other hooks");
        // runtime.md#state: pid is REQUIRED while created or running, "as seen by the host".
        if (status == "created" || status == "running")
            c.expect(host_pid > 0 && st.value("pid", 0L) == host_pid,
                     fmt::format("{} saw pid {}, not the init's host pid {}", kind, st.value("pid", 0L), host_pid));
    }
    int cr = index_of(lines, "createRuntime"), cc = index_of(lines, "createContainer"),
        sc = index_of(lines, "startContainer"), ps = index_of(lines, "poststart"), stop = index_of(lines, "poststop");
    c.expect(cr >= 0 && cc > cr && sc > cc && process > sc,
             "the order is not createRuntime, createContainer, startContainer, then the process");
    c.expect(ps > sc, "poststart did not run after startContainer");
    c.expect(stop == static_cast<int>(lines.size()) - 1, "poststop was not the last hook");
    c.expect(container_ns != runtime_ns, "the process runs in the runtime's mount namespace: nothing told apart");
    if (cr >= 0) c.expect(lines[cr].ns == runtime_ns, "createRuntime did not run in the runtime's mount namespace");
    if (cc >= 0) c.expect(lines[cc].ns == container_ns, "createContainer did not run in the container's mount namespace");
    if (sc >= 0) c.expect(lines[sc].ns == container_ns, "startContainer did not run in the container's mount namespace");
    return c.verdict(e);
}

CTB_CONFORMANCE_CASE({
    .id = "lifecycle.hooks.order_and_state",
    .reference = "OCI runtime-spec runtime.md#lifecycle, config.md#posix-platform-hooks, runtime.md#state",
    .needs = {{K::root, ""}, {K::namespace_type, "mount"}},
    .body = order_and_state,
});

}  // namespace
}  // namespace ctb::conformance::lifecycle

// What the spec says about the container's process and its root, as the process itself meets it:
//  - security.rootfs.readonly: root.readonly makes writes to / and /etc fail with EROFS and the
//    root mount read-only in the container's mountinfo; a control without it writes both.
//  - security.rlimits.nofile: RLIMIT_NOFILE stops opening files at the limit (EMFILE).
//  - security.rlimits.nproc: RLIMIT_NPROC stops a non-root user's forks at the limit (EAGAIN).
//  - security.rlimits.core: RLIMIT_CORE 0 as the kernel holds it for the init (prlimit(2) from the
//    host) and as the process reads it, the kernel refusing to raise the hard limit (EPERM
//    without CAP_SYS_RESOURCE), and a crashing child dumping no core (its wait status has no
//    core flag) where a control with a 64 MiB limit dumps one. The crash comparison depends on
//    the host's core_pattern (a pipe helper takes every core whatever the limit), so it is judged
//    only when the control did dump; the first two proofs do not depend on it.
//  - security.process.attributes: oomScoreAdj, umask, cwd and env as the kernel and the process
//    see them (/proc/self/oom_score_adj, a new file's mode, getcwd, the environment).
// Every case runs the same probes in a control container without the setting.
#include <sys/resource.h>

#include <csignal>

#include <fmt/format.h>

#include <sstream>

#include "common/deadline.hpp"
#include "common/files.hpp"
#include "conformance/probe/probe.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::sec {
namespace {

constexpr const char* kMountinfo = "/proc/self/mountinfo";

// Options (field 6) of the mount at "/" in a mountinfo text: the last one, the mount on top.
std::string root_options(const std::string& mountinfo) {
    std::istringstream in(mountinfo);
    std::string options;
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string id, parent, devno, root, mnt, opts;
        f >> id >> parent >> devno >> root >> mnt >> opts;
        if (mnt == "/") options = opts;
    }
    return options;
}

bool read_only(const std::string& options) { return options == "ro" || options.starts_with("ro,"); }

std::vector<Probe> write_probes() {
    return {{"write_root", agent_argv({"write", "/ctb-readonly-probe", "x"})},
            {"write_etc", agent_argv({"write", "/etc/ctb-readonly-probe", "x"})},
            {"mountinfo", agent_argv({"cat", kMountinfo})}};
}

Verdict readonly_root(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    spec::Spec ro = agent_spec({});
    ro.root.readonly = true;
    spec::Spec control = agent_spec({});
    auto in_ro = must(run_probes(*rt, ro, write_probes()), "readonly root");
    auto in_control = must(run_probes(*rt, control, write_probes()), "control");
    std::string ro_opts = root_options(find(in_ro, "mountinfo")->doc.value("content", ""));
    std::string ctl_opts = root_options(find(in_control, "mountinfo")->doc.value("content", ""));
    json e = {{"readonly", {{"write_root", find(in_ro, "write_root")->evidence()},
                            {"write_etc", find(in_ro, "write_etc")->evidence()},
                            {"root_mount_options", ro_opts}}},
              {"control", {{"write_root", find(in_control, "write_root")->evidence()},
                           {"write_etc", find(in_control, "write_etc")->evidence()},
                           {"root_mount_options", ctl_opts}}}};
    require(find(in_control, "write_root")->ok() && find(in_control, "write_etc")->ok(), "control", "/ and /etc",
            "a container without root.readonly could not write: " + e["control"].dump());
    Checks c;
    c.expect(find(in_ro, "write_root")->errno_name() == "EROFS", "a write to / under root.readonly did not fail with EROFS");
    c.expect(find(in_ro, "write_etc")->errno_name() == "EROFS", "a write to /etc under root.readonly did not fail with EROFS");
    c.expect(read_only(ro_opts), "the container's mountinfo does not show its root mount read-only");
    c.expect(!read_only(ctl_opts), "the control's root is read-only too: nothing told apart");
    return c.verdict(e);
}

// busybox paste opens every file before reading any: N files need N descriptors at once.
std::vector<std::string> open_many(int files) {
    std::string cmd = "ulimit -n; paste";
    for (int i = 0; i < files; ++i) cmd += " /dev/null";
    return {"/bin/sh", "-c", cmd + " 2>&1; echo paste_status=$?"};
}

Verdict nofile(const CaseContext& ctx) {
    constexpr int kLimit = 32, kFiles = 48;
    auto rt = runtime_under_test(ctx);
    spec::Spec limited = agent_spec({});
    limited.process.rlimits = {{"RLIMIT_NOFILE", kLimit, kLimit}};
    spec::Spec control = agent_spec({});
    control.process.rlimits = {{"RLIMIT_NOFILE", 1024, 1024}};
    auto in_limited = must(run_probes(*rt, limited, {{"open", open_many(kFiles)}}), "limited");
    auto in_control = must(run_probes(*rt, control, {{"open", open_many(kFiles)}}), "control");
    const std::string &out = find(in_limited, "open")->output, &ctl = find(in_control, "open")->output;
    json e = {{"limit", kLimit}, {"files_opened_at_once", kFiles}, {"limited_output", out}, {"control_output", ctl}};
    require(ctl.find("paste_status=0") != std::string::npos, "control", "paste",
            fmt::format("{} files could not be opened under a limit of 1024: {}", kFiles, ctl));
    Checks c;
    c.expect(out.starts_with(std::to_string(kLimit) + "\n"), fmt::format("ulimit -n inside is not {}", kLimit));
    c.expect(out.find("Too many open files") != std::string::npos && out.find("paste_status=0") == std::string::npos,
             fmt::format("opening {} files under RLIMIT_NOFILE {} did not fail with EMFILE", kFiles, kLimit));
    return c.verdict(e);
}

Verdict nproc(const CaseContext& ctx) {
    // A uid no host process uses: RLIMIT_NPROC counts every process of the real uid.
    constexpr std::uint32_t kUid = 54321;
    constexpr int kLimit = 8, kForks = 20;
    auto rt = runtime_under_test(ctx);
    auto spec_with = [&](std::uint64_t limit) {
        spec::Spec s = agent_spec({});
        s.process.user = {kUid, kUid, std::nullopt, {}};
        s.process.rlimits = {{"RLIMIT_NPROC", limit, limit}};
        return s;
    };
    std::vector<Probe> fork{{"fork", agent_argv({"fork", std::to_string(kForks)})}};
    auto in_limited = must(run_probes(*rt, spec_with(kLimit), fork), "limited");
    auto in_control = must(run_probes(*rt, spec_with(4 * kForks), fork), "control");
    if (auto why = could_not_run(in_limited); !why.empty()) setup_failed(why);
    const json &limited = find(in_limited, "fork")->doc, &control = find(in_control, "fork")->doc;
    json e = {{"uid", kUid}, {"limit", kLimit}, {"forks", kForks}, {"limited", limited}, {"control", control}};
    require(control.value("created", 0) == kForks, "control", "fork",
            fmt::format("{} forks did not succeed under a limit of {}: {}", kForks, 4 * kForks, control.dump()));
    Checks c;
    c.expect(limited.value("created", kForks) < kLimit,
             fmt::format("a non-root user forked {} children under RLIMIT_NPROC {}", limited.value("created", -1), kLimit));
    c.expect(limited.value("first_error", "") == "EAGAIN", "the fork refused at RLIMIT_NPROC did not fail with EAGAIN");
    return c.verdict(e);
}

json host_core_limit(pid_t pid) {
    rlimit rl{};
    if (::prlimit(pid, RLIMIT_CORE, nullptr, &rl) != 0) setup_failed(sys_error("prlimit RLIMIT_CORE", std::to_string(pid)));
    auto v = [](rlim_t x) { return x == RLIM_INFINITY ? json("unlimited") : json(static_cast<std::uint64_t>(x)); };
    return {{"soft", v(rl.rlim_cur)}, {"hard", v(rl.rlim_max)}};
}

// The host's view of the init's limit, then the probe's (what the process reads, the raise, the
// crash). The probe runs in the init's own shell, not through exec: the limits are the init's
// (an exec'd process gets whatever the runtime's exec gives it; crun 1.8's gives none).
std::pair<json, json> core_run(Runtime& rt, const std::string& layer, std::uint64_t limit) {
    spec::Spec s = shell_spec(fmt::format("{} core; exec {} sleep 20", kProbe, kAgent));
    s.process.rlimits.push_back({"RLIMIT_CORE", limit, limit});
    RunRequest req{s};
    req.extra_layers = {layer};
    Started c = must_start(rt, req);
    json host = host_core_limit(c->pid());
    json probe;
    bool seen = retry_until(Deadline(std::chrono::seconds(10)), [&] {
        auto out = c->wait(std::chrono::milliseconds(100));
        for (const auto& line : out ? json_lines(out->out) : std::vector<json>{})
            if (line.value("probe", "") == "core") probe = line;
        return !probe.is_null();
    });
    require(seen, "core probe", kProbe, "printed nothing within 10 s");
    return {host, probe};
}

Verdict core(const CaseContext& ctx) {
    constexpr std::uint64_t kControl = 64ull << 20;
    auto rt = runtime_under_test(ctx);
    ScratchDir scratch("core");
    std::string layer = probe_layer(scratch);
    auto [host, inside] = core_run(*rt, layer, 0);
    auto [control_host, control] = core_run(*rt, layer, kControl);
    std::string pattern = trim(read_file("/proc/sys/kernel/core_pattern").value_or("?"));
    json e = {{"limit_0", {{"host_prlimit", host}, {"inside", inside}}},
              {"control_64MiB", {{"host_prlimit", control_host}, {"inside", control}}},
              {"host_core_pattern", pattern}};
    require(control.value("child_signal", 0) == SIGSEGV && inside.value("child_signal", 0) == SIGSEGV, "crash", "SIGSEGV",
            "the probe's child was not killed by SIGSEGV: " + e.dump());
    require(control_host == json{{"soft", kControl}, {"hard", kControl}}, "control", "RLIMIT_CORE",
            "the control's limit is not 64 MiB: nothing told apart");
    Checks c;
    c.expect(host == json{{"soft", 0}, {"hard", 0}}, "prlimit(2) from the host does not show RLIMIT_CORE 0/0 for the init");
    c.expect(inside.value("soft", json()) == 0 && inside.value("hard", json()) == 0,
             "the process does not read RLIMIT_CORE 0/0");
    c.expect(inside.value("raise_hard", "") == "EPERM", "the kernel let the container raise the hard RLIMIT_CORE (" +
                                                            inside.value("raise_hard", "?") + ", not EPERM)");
    bool judged = control.value("core_dumped", false);
    e["crash_comparison_judged"] = judged;
    if (judged) c.expect(!inside.value("core_dumped", true), "a crash under RLIMIT_CORE 0 dumped a core");
    return c.verdict(e);
}

Verdict attributes(const CaseContext& ctx) {
    constexpr int kOomScoreAdj = 500;
    auto rt = runtime_under_test(ctx);
    spec::Spec s = agent_spec({});
    s.process.oom_score_adj = kOomScoreAdj;
    s.process.user.umask = 027;
    s.process.cwd = "/tmp";
    s.process.env.push_back("CTB_PROBE=from-spec");
    std::vector<Probe> probes{{"oom_score_adj", agent_argv({"cat", "/proc/self/oom_score_adj"})},
                              {"umask", {"/bin/sh", "-c", "touch umask-probe && stat -c %a umask-probe"}},
                              {"cwd", {"/bin/pwd"}},
                              {"env", {"/bin/sh", "-c", "echo \"CTB_PROBE=$CTB_PROBE\""}}};
    auto r = must(run_probes(*rt, s, probes), "run the probes");
    auto control = must(run_probes(*rt, agent_spec({}), {probes[0]}), "control");
    std::string oom = trim(find(r, "oom_score_adj")->doc.value("content", ""));
    std::string control_oom = trim(find(control, "oom_score_adj")->doc.value("content", ""));
    std::string mode = trim(find(r, "umask")->output), cwd = trim(find(r, "cwd")->output),
                env = trim(find(r, "env")->output);
    json e = {{"oom_score_adj", oom}, {"control_oom_score_adj", control_oom}, {"new_file_mode", mode},
              {"cwd", cwd}, {"env", env}};
    Checks c;
    c.expect(oom == std::to_string(kOomScoreAdj), "/proc/self/oom_score_adj does not show oomScoreAdj");
    c.expect(control_oom != std::to_string(kOomScoreAdj), "the control has the same oom_score_adj: nothing told apart");
    c.expect(mode == "640", "a file created under umask 027 does not have mode 640");
    c.expect(cwd == "/tmp", "the process does not start in process.cwd");
    c.expect(env == "CTB_PROBE=from-spec", "process.env is not in the process's environment");
    return c.verdict(e);
}

std::vector<Requirement> process_needs() { return {{K::root, ""}, {K::namespace_type, "mount"}}; }

CTB_CONFORMANCE_CASE({
    .id = "security.rootfs.readonly",
    .reference = "OCI runtime-spec config.md#root (readonly); mount(2) MS_RDONLY",
    .needs = process_needs(),
    .body = readonly_root,
});
CTB_CONFORMANCE_CASE({
    .id = "security.rlimits.nofile",
    .reference = "getrlimit(2) RLIMIT_NOFILE (EMFILE); OCI runtime-spec config.md#posix-process (rlimits)",
    .needs = process_needs(),
    .body = nofile,
});
CTB_CONFORMANCE_CASE({
    .id = "security.rlimits.nproc",
    .reference = "getrlimit(2) RLIMIT_NPROC (fork(2) EAGAIN); OCI runtime-spec config.md#posix-process (rlimits)",
    .needs = process_needs(),
    .body = nproc,
});
CTB_CONFORMANCE_CASE({
    .id = "security.rlimits.core",
    .reference = "getrlimit(2) RLIMIT_CORE (raising the hard limit needs CAP_SYS_RESOURCE); prlimit(2); core(5); "
                 "OCI runtime-spec config.md#posix-process (rlimits)",
    .needs = process_needs(),
    .body = core,
});
CTB_CONFORMANCE_CASE({
    .id = "security.process.attributes",
    .reference = "proc(5) /proc/pid/oom_score_adj; umask(2); OCI runtime-spec config.md#process (oomScoreAdj, user.umask, cwd, env)",
    .needs = process_needs(),
    .body = attributes,
});

}  // namespace
}  // namespace ctb::conformance::sec

// CPU controller (CFS bandwidth and weight) and cpuset: proven by how much CPU time spinning
// processes actually get, and by where the kernel lets them run.
#include <sched.h>

#include <fmt/format.h>

#include "common/deadline.hpp"
#include "common/files.hpp"
#include "conformance/cgroup/helpers.hpp"

namespace ctb::conformance::cgroup_cases {
namespace {

// {wall_s, cpu_s, share} of an agent `spin` that has exited, or why not.
Result<json> spin_result(RunningContainer& c, const std::string& which) {
    auto out = c.wait(std::chrono::seconds(10));
    if (!out) return fail(out.error());
    json j = out->json();
    if (out->status != 0 || !j.contains("cpu_s") || j.value("wall_s", 0.0) <= 0)
        return fail(plain_error("spin", which, fmt::format("status {}, stdout {:?}, stderr {:?}", out->status, out->out, out->err)));
    j["share"] = j["cpu_s"].get<double>() / j["wall_s"].get<double>();
    return j;
}

// cpu.stat of the limited container: nr_throttled counts the periods in which the kernel
// stopped the cgroup because it had used up its quota (the enforcement itself, not a setting).
Result<std::map<std::string, std::uint64_t>> cpu_stat(const std::string& dir) {
    auto text = read_file(dir + "/cpu.stat");
    if (!text) return fail(text.error());
    return parse_keyed(*text);
}

Verdict quota(const CaseContext& ctx) {
    // 20 ms per 100 ms period caps the cgroup at 0.2 CPU. Accepted share [0.10, 0.35]: period
    // boundaries (+-1 period of 10 over the spin) and a busy host only move it a little. The
    // kernel must also have throttled the cgroup (cpu.stat nr_throttled > 0), which tells a cap
    // from a host too busy to give 0.2 CPU. The unlimited control runs at the same time; it is
    // evidence, and the diagnosis when the quota never came into play. It is not required to
    // exceed a fixed share: on this 2-CPU host under a load average of 17 it got 0.26..0.47.
    constexpr double kMin = 0.10, kMax = 0.35;
    auto rt = runtime_under_test(ctx);
    spec::Spec limited = agent_spec({"spin", "1"});
    auto& cpu = resources(limited).cpu.emplace();
    cpu.quota = 20000;
    cpu.period = 100000;
    auto a = start(*rt, request_for(limited));
    if (!a) return runtime_failure("start the limited container", a.error());
    // Located while the init runs: /proc/<pid>/cgroup goes with the process.
    auto dir = must(cgroup_dir(ctx.host, (*a)->pid(), "cpu"));
    auto b = start(*rt, request_for(agent_spec({"spin", "1"})));
    if (!b) return runtime_failure("start the control container", b.error());
    auto limited_out = must(spin_result(**a, "limited container"));
    auto control_out = must(spin_result(**b, "control container"));
    auto stat = must(cpu_stat(dir));

    double share = limited_out["share"], control = control_out["share"];
    std::uint64_t throttled = stat["nr_throttled"];
    json e = {{"quota_us", 20000}, {"period_us", 100000}, {"limited", limited_out}, {"control", control_out},
              {"accepted_share", {kMin, kMax}}, {"nr_periods", stat["nr_periods"]}, {"nr_throttled", throttled}};
    if (share > kMax)
        return Verdict::fail(fmt::format("a 0.2 CPU quota let the container use {:.2f} CPU (accepted up to {})", share, kMax), e);
    if (throttled == 0 || share < kMin) {
        if (control < kMax)
            setup_failed(fmt::format("the host is too busy to show a 0.2 CPU cap: an unlimited spinner got only "
                                              "{:.2f} CPU, the limited one {:.2f} ({} throttled periods)",
                                              control, share, throttled));
        if (throttled == 0) return Verdict::fail("the kernel never throttled the cgroup although it spun for 1 s", e);
        return Verdict::fail(fmt::format("a 0.2 CPU quota gave only {:.2f} CPU (accepted from {})", share, kMin), e);
    }
    return Verdict::pass(e);
}

spec::Spec pinned_spinner(std::uint64_t shares) {
    spec::Spec s = agent_spec({"spin", "10"});  // deleted once measured, long before 10 s
    auto& cpu = resources(s).cpu.emplace();
    cpu.shares = shares;
    cpu.cpus = "0";
    return s;
}

Verdict weight_ratio(const CaseContext& ctx) {
    // Both on CPU 0, so they compete; the CPU time each gets while both run is measured on the
    // host (the window starts once both spin). Expected 4:1; accepted 2..8.
    constexpr double kMinRatio = 2, kMaxRatio = 8, kWindowCpu = 0.6;
    auto rt = runtime_under_test(ctx);
    auto heavy = start(*rt, request_for(pinned_spinner(1024)));
    if (!heavy) return runtime_failure("start the 1024-share container", heavy.error());
    auto light = start(*rt, request_for(pinned_spinner(256)));
    if (!light) return runtime_failure("start the 256-share container", light.error());
    pid_t hp = (*heavy)->pid(), lp = (*light)->pid();

    std::optional<Error> error;
    auto sample = [&](double& h, double& l) {
        auto hs = cpu_seconds(hp), ls = cpu_seconds(lp);
        if (!hs || !ls) error = hs ? ls.error() : hs.error();
        h = hs.value_or(0);
        l = ls.value_or(0);
        return !error;
    };
    double h0 = 0, l0 = 0, h1 = 0, l1 = 0;
    // The window opens once the second container is spinning (its start-up is not measured).
    if (!sample(h0, l0)) setup_failed(*error);
    double l_start = l0;
    retry_until(Deadline(std::chrono::seconds(3)), [&] { return !sample(h0, l0) || l0 > l_start + 0.01; });
    if (error) setup_failed(*error);
    bool enough = retry_until(Deadline(std::chrono::seconds(5)),
                              [&] { return !sample(h1, l1) || (h1 - h0) + (l1 - l0) >= kWindowCpu; });
    if (error) setup_failed(*error);
    double dh = h1 - h0, dl = l1 - l0;
    double ratio = dl > 0 ? dh / dl : 1e9;
    json e = {{"shares", {1024, 256}}, {"cpus", "0"}, {"cpu_s", {dh, dl}}, {"ratio", ratio},
              {"accepted_ratio", {kMinRatio, kMaxRatio}}, {"window_cpu_s", kWindowCpu}, {"window_complete", enough}};
    if (!enough && dh + dl < kWindowCpu / 4)
        setup_failed(fmt::format("CPU 0 is too busy: both containers got {:.2f} s CPU in 5 s", dh + dl));
    if (ratio < kMinRatio || ratio > kMaxRatio)
        return Verdict::fail(fmt::format("shares 1024:256 gave a CPU time ratio of {:.2f} (accepted {}..{})", ratio,
                                         kMinRatio, kMaxRatio), e);
    return Verdict::pass(e);
}

// "Key:\tvalue" of /proc/<pid>/status.
std::optional<std::string> status_field(const std::string& status, const std::string& key) {
    auto at = status.find("\n" + key + ":");
    if (at == std::string::npos) return std::nullopt;
    auto start = status.find_first_not_of(" \t", at + key.size() + 2);
    if (start == std::string::npos) return std::nullopt;
    return status.substr(start, status.find('\n', start) - start);
}

Verdict cpuset_pins(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    // The affinity the kernel gives, plus attempts to move onto CPU 0 (inside the set: must work)
    // and CPU 1 (outside: sched_setaffinity must refuse it).
    spec::Spec s = shell_spec(fmt::format("{} cat /proc/self/status\n"
                                          "taskset -p -c 0 $$ >/dev/null 2>&1; echo inside_status=$?\n"
                                          "taskset -p -c 1 $$ >/dev/null 2>&1; echo outside_status=$?",
                                          kAgent));
    resources(s).cpu.emplace().cpus = "0";
    auto out = rt->run(request_for(s));
    if (!out) return runtime_failure("run the pinned container", out.error());
    auto lines = json_lines(out->out);
    std::string status = lines.empty() ? "" : lines.front().value("content", "");
    auto allowed = status_field(status, "Cpus_allowed_list");
    json e = {{"cpus", "0"}, {"cpus_allowed_list", allowed ? json(*allowed) : json(nullptr)},
              {"taskset_inside_status", line_int(out->out, "inside_status").value_or(-1)},
              {"taskset_outside_status", line_int(out->out, "outside_status").value_or(-1)}};
    if (!allowed) setup_failed(fmt::format("no Cpus_allowed_list in the container: {:?} {:?}", out->out, out->err));
    if (*allowed != "0") return Verdict::fail(fmt::format("cpus \"0\" but the process may run on {}", *allowed), e);
    if (e["taskset_inside_status"] != 0) setup_failed(fmt::format("taskset onto CPU 0 failed: {:?}", out->out));
    if (e["taskset_outside_status"] == 0) return Verdict::fail("the process could move itself onto CPU 1, outside its cpuset", e);
    return Verdict::pass(e);
}

CTB_CONFORMANCE_CASE({
    .id = "cgroup.cpu.quota",
    .reference = "Documentation/scheduler/sched-bwc.rst; OCI runtime-spec config-linux.md#cpu",
    .needs = {{K::root, ""}, {K::cgroup_controller, "cpu"}},
    .body = quota,
});
CTB_CONFORMANCE_CASE({
    .id = "cgroup.cpu.weight_ratio",
    .reference = "OCI runtime-spec config-linux.md#cpu (shares); Documentation/admin-guide/cgroup-v2.rst (cpu.weight)",
    .needs = {{K::root, ""}, {K::cgroup_controller, "cpu"}, {K::cgroup_controller, "cpuset"}},
    .body = weight_ratio,
});
CTB_CONFORMANCE_CASE({
    .id = "cgroup.cpuset.pins",
    .reference = "Documentation/admin-guide/cgroup-v1/cpusets.rst; sched_setaffinity(2); OCI runtime-spec config-linux.md#cpu",
    .needs = {{K::root, ""}, {K::cgroup_controller, "cpuset"}, {K::min_cpus, "2"}},
    .body = cpuset_pins,
});

}  // namespace
}  // namespace ctb::conformance::cgroup_cases

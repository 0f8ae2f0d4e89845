// Memory controller: the limit is proven by the OOM killer (and its counter), memory.high by
// throttling without a kill, the memory+swap limit by what swap may and may not absorb.
//
// Each container runs a shell script as its init: the allocations run as its children, so the
// container (and its cgroup with the kernel's counters) outlives an OOM kill until the case has
// read the counters on the host.
#include <signal.h>

#include <fmt/format.h>

#include "common/files.hpp"
#include "conformance/cgroup/helpers.hpp"

namespace ctb::conformance::cgroup_cases {
namespace {

constexpr std::int64_t kMiB = 1 << 20;
constexpr auto kScriptTimeout = std::chrono::seconds(15);

// Starts `s` and waits for its script's done marker.
struct Finished {
    Started container;  // killed and reaped on every path
    RunOutput output;
};

Result<Finished> run_script(Runtime& rt, const spec::Spec& s, std::string& why) {
    auto c = start(rt, request_for(s));
    if (!c) return fail(c.error());
    auto out = wait_for_output(**c, kDoneMarker, kScriptTimeout);
    if (!out) return fail(out.error());
    if (out->out.find(kDoneMarker) == std::string::npos)
        why = fmt::format("the script did not finish within {} s (init status {}): stdout {:?} stderr {:?}",
                          kScriptTimeout.count(), out->status, out->out, out->err);
    return Finished{std::move(*c), std::move(*out)};
}

// Allocates big (expected to be OOM-killed) then small (expected to fit), printing each status.
std::string alloc_pair_script(int big_mib, int small_mib) {
    return fmt::format("{a} alloc {big} >/dev/null 2>&1; echo big_status=$?\n{a} alloc {small}; echo small_status=$?",
                       fmt::arg("a", kAgent), fmt::arg("big", big_mib), fmt::arg("small", small_mib));
}

json allocation_evidence(const RunOutput& out, int big_mib, int small_mib) {
    auto lines = json_lines(out.out);
    json small = lines.empty() ? json(nullptr) : lines.front();
    return {{"big_alloc_mib", big_mib}, {"big_status", line_int(out.out, "big_status").value_or(-1)},
            {"small_alloc_mib", small_mib}, {"small_status", line_int(out.out, "small_status").value_or(-1)},
            {"small_result", small}};
}

bool small_alloc_fine(const json& e) {
    return e["small_status"] == 0 && e["small_result"].is_object() &&
           e["small_result"].value("allocated_mib", 0) == e["small_alloc_mib"].get<int>();
}

// The kernel's own count of OOM kills in the container's memory cgroup, read from cgroupfs (not
// through any runtime code): "oom_kill N" of memory.events (v2) or memory.oom_control (v1).
std::uint64_t oom_kill_counter(const report::HostProbe& host, pid_t pid, std::string& file) {
    bool v1 = hierarchy_of(host, "memory") == "v1";
    file = must(cgroup_dir(host, pid, "memory")) + (v1 ? "/memory.oom_control" : "/memory.events");
    auto counters = parse_keyed(must(read_file(file)));
    require(counters.contains("oom_kill"), "read", file, "no oom_kill line (kernel older than 4.13?)");
    return counters["oom_kill"];
}

Verdict oom_kill(const CaseContext& ctx) {
    constexpr int kLimitMib = 32, kBig = 128, kSmall = 8;
    auto rt = runtime_under_test(ctx);
    spec::Spec s = shell_spec(script_then_hold(alloc_pair_script(kBig, kSmall)));
    auto& m = resources(s).memory.emplace();
    m.limit = kLimitMib * kMiB;
    m.swap = kLimitMib * kMiB;  // memory+swap = memory: swap cannot absorb the excess
    std::string why;
    auto run = run_script(*rt, s, why);
    if (!run) return runtime_failure("start the limited container", run.error());
    if (!why.empty()) setup_failed(why);
    std::string counter_file;
    std::uint64_t oom_kills = oom_kill_counter(ctx.host, run->container->pid(), counter_file);

    json e = allocation_evidence(run->output, kBig, kSmall);
    e["limit_mib"] = kLimitMib;
    e["oom_kill_counter"] = oom_kills;
    e["counter_file"] = counter_file;
    if (e["big_status"] != 128 + SIGKILL)
        return Verdict::fail(fmt::format("allocating {} MiB under a {} MiB limit ended with status {}, not 137 (SIGKILL)",
                                         kBig, kLimitMib, e["big_status"].dump()), e);
    if (oom_kills < 1) return Verdict::fail("the process was killed but the cgroup counted no OOM kill", e);
    if (!small_alloc_fine(e))
        return Verdict::fail(fmt::format("a {} MiB allocation under the {} MiB limit did not succeed", kSmall, kLimitMib), e);
    return Verdict::pass(e);
}

Verdict high_throttles(const CaseContext& ctx) {
    // Slightly above memory.high (a few % of overage): the kernel counts "high" events and
    // reclaims/throttles, but the penalty stays short and nothing may be killed.
    constexpr int kHighMib = 64, kAlloc = 66;
    auto rt = runtime_under_test(ctx);
    std::string script = fmt::format("{} alloc {} --step 2; echo alloc_status=$?", kAgent, kAlloc);
    spec::Spec s = shell_spec(script_then_hold(script));
    resources(s).unified["memory.high"] = std::to_string(kHighMib * kMiB);
    std::string why;
    auto run = run_script(*rt, s, why);
    if (!run) return runtime_failure("start the container with memory.high", run.error());
    if (!why.empty()) setup_failed(why);
    auto dir = must(cgroup_dir(ctx.host, run->container->pid(), "memory"));
    auto text = must(read_file(dir + "/memory.events"));
    auto events = parse_keyed(text);
    auto lines = json_lines(run->output.out);
    json e = {{"memory_high_mib", kHighMib}, {"alloc_mib", kAlloc},
              {"alloc_status", line_int(run->output.out, "alloc_status").value_or(-1)},
              {"alloc_result", lines.empty() ? json(nullptr) : lines.front()},
              {"memory_events", events}};
    if (events["oom_kill"] > 0 || e["alloc_status"] != 0)
        return Verdict::fail("memory.high alone must throttle, never kill: the allocation did not finish", e);
    if (events["high"] == 0) return Verdict::fail("usage went above memory.high but memory.events counted no high event", e);
    return Verdict::pass(e);
}

Verdict swap_limit(const CaseContext& ctx) {
    // memory 32 MiB, memory+swap 64 MiB: 48 MiB fits only by swapping 16 MiB out; 128 MiB
    // exceeds memory+swap and must be OOM-killed rather than swapped.
    constexpr int kLimitMib = 32, kSwapMib = 64, kBig = 128, kSmall = 48;
    auto rt = runtime_under_test(ctx);
    spec::Spec s = shell_spec(script_then_hold(alloc_pair_script(kBig, kSmall)));
    auto& m = resources(s).memory.emplace();
    m.limit = kLimitMib * kMiB;
    m.swap = kSwapMib * kMiB;
    std::string why;
    auto run = run_script(*rt, s, why);
    if (!run) return runtime_failure("start the container with a swap limit", run.error());
    bool v1 = hierarchy_of(ctx.host, "memory") == "v1";
    auto dir = must(cgroup_dir(ctx.host, run->container->pid(), "memory"));
    std::string file = dir + (v1 ? "/memory.memsw.limit_in_bytes" : "/memory.swap.max");
    if (!read_file(file)) return Verdict::skip("no swap accounting on this kernel: " + file + " is absent");
    if (!why.empty()) setup_failed(why);

    json e = allocation_evidence(run->output, kBig, kSmall);
    e["limit_mib"] = kLimitMib;
    e["memory_plus_swap_mib"] = kSwapMib;
    if (e["big_status"] != 128 + SIGKILL)
        return Verdict::fail(fmt::format("{} MiB exceeds memory+swap {} MiB but ended with status {}, not 137", kBig,
                                         kSwapMib, e["big_status"].dump()), e);
    if (!small_alloc_fine(e))
        return Verdict::fail(fmt::format("{} MiB fits in memory+swap {} MiB but did not succeed", kSmall, kSwapMib), e);
    return Verdict::pass(e);
}

CTB_CONFORMANCE_CASE({
    .id = "cgroup.memory.oom_kill",
    .reference = "Documentation/admin-guide/cgroup-v1/memory.rst (memory.oom_control); "
        "Documentation/admin-guide/cgroup-v2.rst (memory.max, memory.events); OCI runtime-spec config-linux.md#memory",
    .needs = {{K::root, ""}, {K::cgroup_controller, "memory"}},
    .body = oom_kill,
});
CTB_CONFORMANCE_CASE({
    .id = "cgroup.memory.high_throttles",
    .reference = "Documentation/admin-guide/cgroup-v2.rst (memory.high, memory.events); OCI runtime-spec config-linux.md#unified",
    .needs = {{K::root, ""}, {K::cgroup_v2_controller, "memory"}},
    .body = high_throttles,
});
CTB_CONFORMANCE_CASE({
    .id = "cgroup.memory.swap_limit",
    .reference = "Documentation/admin-guide/cgroup-v1/memory.rst (memory.memsw.limit_in_bytes); "
        "Documentation/admin-guide/cgroup-v2.rst (memory.swap.max); OCI runtime-spec config-linux.md#memory",
    .needs = {{K::root, ""}, {K::cgroup_controller, "memory"}, {K::swap, ""}},
    .body = swap_limit,
});

}  // namespace
}  // namespace ctb::conformance::cgroup_cases

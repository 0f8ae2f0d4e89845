// Time namespaces: monotonic and boottime offsets seen inside (clock_gettime and /proc/uptime),
// the host's clocks untouched, and offsets frozen once a task has entered the namespace.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <tuple>
#include <fmt/format.h>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "conformance/ns/support.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace ctb::conformance::nscase {
namespace {

constexpr const char* kTimeRef = "time_namespaces(7); OCI runtime-spec config-linux.md#namespaces (timeOffsets)";
constexpr std::int64_t kMonotonicOffset = 3 * 86400;  // seconds
constexpr std::int64_t kBoottimeOffset = 7 * 86400;

double now(clockid_t id) {
    timespec ts{};
    ::clock_gettime(id, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Clocks {
    double monotonic, boottime, realtime, uptime;
    json to_json() const {
        return {{"monotonic", monotonic}, {"boottime", boottime}, {"realtime", realtime}, {"uptime", uptime}};
    }
};

Clocks host_clocks() {
    Clocks c{now(CLOCK_MONOTONIC), now(CLOCK_BOOTTIME), now(CLOCK_REALTIME), 0};
    c.uptime = std::stod(words(read_text("/proc/uptime")).at(0));
    return c;
}

spec::Spec with_offsets(spec::Spec s) {
    add_namespace(s, "time");
    s.linux.time_offsets["monotonic"] = {kMonotonicOffset, 0};
    s.linux.time_offsets["boottime"] = {kBoottimeOffset, 0};
    return s;
}

// When the runtime under test would not run `s` (`why`): a skip if it runs the same container
// without the time namespace (it does not support them, and has no `features` command that said
// so up front), otherwise the case's setup broke.
Verdict refused(Containers& cs, spec::Spec s, std::string why) {
    why = trim(why);
    remove_namespace(s, "time");
    s.linux.time_offsets.clear();
    s.process.args = {kAgent, "exit", "0"};
    auto plain = cs.try_run(s);
    if (plain && plain->status == 0)
        return Verdict::skip(fmt::format("runtime {} does not run time namespaces: {}", cs.name(), why));
    setup_failed("the container did not run: " + why);
}

// lo <= v <= hi, with `slack` seconds either side.
bool within(double v, double lo, double hi, double slack) { return v >= lo - slack && v <= hi + slack; }

Verdict offsets_visible(const CaseContext& ctx) {
    Containers cs(ctx);
    spec::Spec s = with_offsets(agent({"info"}));
    Clocks before = host_clocks();
    auto out = cs.try_run(s);
    Clocks after = host_clocks();
    if (!out) return refused(cs, s, out.error().message());
    // An OCI CLI's refusal is its exit status, with its message on stderr.
    if (json_lines(out->out).empty()) return refused(cs, s, fmt::format("status {}: {}", out->status, out->err));
    json info = agent_json(*out, "agent info");
    const json& in = info["clocks"];
    json ev = {{"offsets", {{"monotonic", kMonotonicOffset}, {"boottime", kBoottimeOffset}}},
               {"host_before", before.to_json()},
               {"host_after", after.to_json()},
               {"inside", in},
               {"inside_uptime", info["uptime"]},
               {"time_ns_inside", info["namespaces"]["time"]},
               {"time_ns_host", own_ns_inode("time")}};
    if (!in["monotonic"].is_number() || !in["boottime"].is_number() || !info["uptime"].is_object())
        setup_failed("the agent could not read its clocks: " + info["errors"].dump());
    double mono = in["monotonic"], boot = in["boottime"], real = in["realtime"];
    double uptime = info["uptime"]["uptime_s"];
    if (!within(mono, before.monotonic + kMonotonicOffset, after.monotonic + kMonotonicOffset, 0.5))
        return Verdict::fail("CLOCK_MONOTONIC inside is not the host's plus the monotonic offset", ev);
    if (!within(boot, before.boottime + kBoottimeOffset, after.boottime + kBoottimeOffset, 0.5))
        return Verdict::fail("CLOCK_BOOTTIME inside is not the host's plus the boottime offset", ev);
    // /proc/uptime counts boottime (in hundredths).
    if (!within(uptime, before.uptime + kBoottimeOffset, after.uptime + kBoottimeOffset, 0.5))
        return Verdict::fail("/proc/uptime inside is not the host's plus the boottime offset", ev);
    // CLOCK_REALTIME is not virtualised.
    if (!within(real, before.realtime, after.realtime, 0.5))
        return Verdict::fail("CLOCK_REALTIME inside differs from the host's", ev);
    return Verdict::pass(ev);
}

Verdict host_unaffected(const CaseContext& ctx) {
    Containers cs(ctx);
    spec::Spec s = with_offsets(agent({"sleep", "30"}));
    Clocks before = host_clocks();
    auto started = cs.try_start(s);
    if (!started) return refused(cs, s, started.error().message());
    auto& c = *started;
    json info = agent_json(must_exec(*c, {kAgent, "info"}), "agent info");
    Clocks during = host_clocks();
    c.stop();  // the container and its time namespace are gone
    Clocks after = host_clocks();
    json ev = {{"host_before", before.to_json()},      {"host_while_running", during.to_json()},
               {"host_after", after.to_json()},        {"inside", info["clocks"]},
               {"time_ns_host", own_ns_inode("time")}, {"time_ns_container", info["namespaces"]["time"]}};
    if (!info["clocks"]["monotonic"].is_number() ||
        info["clocks"]["monotonic"].get<double>() < during.monotonic + kMonotonicOffset / 2.0)
        setup_failed("the offsets did not apply inside, nothing to compare: " + info["clocks"].dump());
    if (ev["time_ns_host"] == ev["time_ns_container"])
        return Verdict::fail("the container runs in the host's time namespace", ev);
    // Every host clock advanced by the wall time that passed, not by an offset.
    double wall = after.realtime - before.realtime;
    ev["wall_elapsed"] = wall;
    for (auto [name, b, a] :
         {std::tuple{"monotonic", before.monotonic, after.monotonic},
          std::tuple{"boottime", before.boottime, after.boottime}, std::tuple{"uptime", before.uptime, after.uptime}})
        if (a - b < -0.02 || a - b > wall + 1.0)
            return Verdict::fail(
                fmt::format("the host's {} moved by {:.3f} s while {:.3f} s passed", name, a - b, wall), ev);
    if (std::abs(during.uptime - during.boottime) > 1.0)
        return Verdict::fail("the host's /proc/uptime left CLOCK_BOOTTIME while the container ran", ev);
    return Verdict::pass(ev);
}

Verdict offsets_immutable_after_entry(const CaseContext&) {
    json r = in_child([] {
        json r;
        if (::unshare(CLONE_NEWTIME) != 0) return json{{"setup", "unshare(CLONE_NEWTIME): " + err_name(errno)}};
        // The offsets of this process's time_for_children namespace, still empty of tasks.
        r["write_before_entry"] =
            err_name(write_errno("/proc/self/timens_offsets", fmt::format("monotonic {} 0", kMonotonicOffset)));
        int to_child[2], from_child[2];
        if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0)
            return json{{"setup", "pipe2: " + err_name(errno)}};
        pid_t pid = ::fork();
        if (pid < 0) return json{{"setup", "fork: " + err_name(errno)}};
        if (pid == 0) {  // the first task of the namespace: reports its clock, stays until told
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::close(to_child[1]);
            ::close(from_child[0]);
            double mono = now(CLOCK_MONOTONIC);
            (void)!::write(from_child[1], &mono, sizeof mono);
            char c;
            (void)!::read(to_child[0], &c, 1);
            ::_exit(0);
        }
        ::close(to_child[0]);
        ::close(from_child[1]);
        double child_mono = 0;
        bool got = ::read(from_child[0], &child_mono, sizeof child_mono) == sizeof child_mono;
        double own_mono = now(CLOCK_MONOTONIC);
        // With a task inside, the offsets are frozen.
        r["write_after_entry"] = err_name(write_errno(fmt::format("/proc/{}/timens_offsets", ::getpid()),
                                                      fmt::format("monotonic {} 0", 2 * kMonotonicOffset)));
        r["write_after_entry_via_member"] = err_name(write_errno(fmt::format("/proc/{}/timens_offsets", pid),
                                                                 fmt::format("monotonic {} 0", 2 * kMonotonicOffset)));
        r["offsets_file"] = trim(read_text("/proc/self/timens_offsets"));
        ::close(to_child[1]);
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        if (!got) return json{{"setup", "the task inside did not report its clock"}};
        r["member_monotonic_minus_own"] = child_mono - own_mono;
        return r;
    });
    if (r.contains("setup")) setup_failed(r["setup"].get<std::string>());
    if (r["write_before_entry"] != "ok")
        setup_failed("writing offsets before any task entered failed: " + r.dump());
    double diff = r["member_monotonic_minus_own"];
    if (diff < kMonotonicOffset - 1.0 || diff > kMonotonicOffset + 1.0)
        return Verdict::fail("the task inside does not see the offset written before it entered", r);
    if (r["write_after_entry"] != "EACCES" || r["write_after_entry_via_member"] != "EACCES")
        return Verdict::fail("timens_offsets could still be written with a task inside the namespace", r);
    return Verdict::pass(r);
}

// runc 1.1 has no time namespaces: its `runc features` says so, and the cases skip up front.
CTB_CONFORMANCE_CASE({
    .id = "ns.time.offsets_visible",
    .reference = kTimeRef,
    .needs = with(container_needs({"time"}), {{K::runtime_feature, "time_namespace"}}),
    .body = offsets_visible,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.time.host_unaffected",
    .reference = kTimeRef,
    .needs = with(container_needs({"time"}), {{K::runtime_feature, "time_namespace"}}),
    .body = host_unaffected,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.time.offsets_immutable_after_entry",
    .reference = "time_namespaces(7) /proc/PID/timens_offsets",
    .needs = raw_needs({"time"}),
    .body = offsets_immutable_after_entry,
});

}  // namespace
}  // namespace ctb::conformance::nscase

// veth.tcp_stream, veth.udp_stream, veth.tcp_rr: the network workload engine of ctbench-agent over
// the paths of benches/veth/paths.hpp (loopback, netns-veth, bridge, published-nat,
// published-proxy), all in the same run, with ratios against loopback; iperf3 or sockperf on
// the loopback path for the fidelity ratio; the eBPF network tracer counting packets, bytes and
// drops on each path's links and TCP retransmits in its namespaces.
//
// Repetitions go round-robin over the paths (rep 1: every path, rep 2: every path ...), so a
// burst of load from elsewhere on the host hits every path alike instead of one series. The
// first round is a warm-up (ARP, the conntrack entries, caches) and is not recorded; it also
// sizes the loopback stream in bytes, so ctbench's engine and iperf3 move the same amount. The
// fidelity tool runs next to the engine's loopback sample, alternately before and after it.
#include <fmt/format.h>

#include "benches/harness/fidelity.hpp"
#include "benches/harness/measure.hpp"
#include "benches/registry.hpp"
#include "benches/start/fixture.hpp"
#include "benches/veth/fidelity.hpp"
#include "benches/veth/paths.hpp"
#include "benches/veth/same_cpu.hpp"
#include "benches/veth/workload.hpp"
#include "bpf/net_tracer.hpp"
#include "reports/requirements.hpp"
#include "reports/stats.hpp"

namespace ctb::bench::veth {
namespace {

struct Figures : EngineSamples {  // one path's samples and what the tracer counted
    std::optional<bpf::NetSnapshot> trace;
    int traced_runs = 0;
};

void accumulate(Figures& f, const bpf::NetSnapshot& s) {
    if (!f.trace) {
        f.trace = s;
    } else {
        for (std::size_t i = 0; i < s.interfaces.size() && i < f.trace->interfaces.size(); ++i) {
            auto& a = f.trace->interfaces[i].counts;
            const auto& b = s.interfaces[i].counts;
            a.tx_packets += b.tx_packets;
            a.tx_bytes += b.tx_bytes;
            a.tx_errors += b.tx_errors;
            a.rx_packets += b.rx_packets;
            a.rx_bytes += b.rx_bytes;
            a.drops += b.drops;
        }
        f.trace->tcp_retransmits += s.tcp_retransmits;
        f.trace->events_seen += s.events_seen;
        f.trace->events_lost += s.events_lost;
    }
    f.traced_runs++;
}

// The tracer for the bench, or why there is none (in every series' context).
struct NetTracing {
    std::unique_ptr<bpf::NetTracer> tracer;
    std::string off_reason;

    static NetTracing open(const report::HostProbe& host) {
        NetTracing t;
        if (auto why = unmet_requirement({Requirement::Kind::bpf_tracing, ""}, host); !why.empty()) {
            t.off_reason = why;
            return t;
        }
        std::vector<std::string> kinds;
        for (const auto& [kind, f] : host.bpf_program_types)
            if (f.available) kinds.push_back(kind);
        auto tracer = bpf::NetTracer::open(kinds);
        if (!tracer) {
            t.off_reason = tracer.error().message();
            return t;
        }
        if (auto s = (*tracer)->attach(); !s) {
            t.off_reason = s.error().message();
            return t;
        }
        t.tracer = std::move(*tracer);
        return t;
    }
    std::string label() const { return tracer ? tracer->program_kind() : "off: " + off_reason; }

    // Runs `sample` with the tracer counting exactly `path`'s links and namespaces.
    Result<nlohmann::json> around(const Path& path, Figures& f, bool record,
                                  const std::function<Result<nlohmann::json>()>& sample) {
        if (!tracer) return sample();
        tracer->clear();
        for (const auto& l : path.links)
            if (auto s = tracer->watch(l.label, l.netns, l.ifindex); !s) return fail(s.error());
        for (auto ns : path.namespaces)
            if (auto s = tracer->watch_netns(ns); !s) return fail(s.error());
        auto out = sample();
        if (out && record) accumulate(f, tracer->read());
        return out;
    }
};

struct Run {
    std::string mode;
    Profile profile;
    int reps;
    Lab& lab;
    NetTracing& tracing;
    FidelityTool& tool;
    std::vector<Figures> figures;  // per path
    Figures tool_figures;
    std::string tool_error;
    std::uint64_t stream_bytes = 0;  // loopback stream size, fixed after the warm-up
    // tcp_rr: the engine and sockperf on loopback once more per round, both ends of each on one
    // CPU (same_cpu.hpp); not traced, not part of the loopback series.
    std::optional<int> same_cpu;
    std::vector<double> same_cpu_engine, same_cpu_tool;
    std::string same_cpu_error;

    Result<nlohmann::json> engine_sample(std::size_t i, bool recorded) {
        const Path& path = lab.paths[i];
        bool loop = path.name == "loopback" && mode != "tcp_rr";
        auto args = load_args(mode, profile, loop ? stream_bytes : 0);
        return tracing.around(path, figures[i], recorded, [&] { return path.client(mode, args); });
    }

    Result<nlohmann::json> tool_sample(bool recorded) {
        return tracing.around(lab.paths[0], tool_figures, recorded, [&] {
            if (mode == "tcp_rr") return tool.ping_pong(profile.tool_seconds, kMessage);
            return tool.stream(stream_bytes, mode == "udp_stream", kDatagram);
        });
    }

    void tool_round(bool recorded) {
        if (!tool.unavailable().empty() || !tool_error.empty()) return;
        auto doc = tool_sample(recorded);
        if (!doc) tool_error = doc.error().message();  // the engine's figures still stand
        else if (recorded) record(mode, *doc, tool_figures);
    }

    // One pinned pair, in the order of the round's unpinned pair; the first failure ends the
    // pinned pairs and is reported instead of their ratio.
    void same_cpu_round(int rep) {
        if (mode != "tcp_rr" || rep == 0 || !tool.unavailable().empty() || !tool_error.empty() || !same_cpu_error.empty())
            return;
        if (!same_cpu) same_cpu = SameCpu::choose();
        if (!same_cpu) {
            same_cpu_error = "the bench's CPU mask cannot be read";
            return;
        }
        auto pinned = SameCpu::pin(*same_cpu, {lab.loopback_server(), tool.server_pid()});
        if (!pinned) {
            same_cpu_error = pinned.error().message();
            return;
        }
        std::optional<Result<nlohmann::json>> theirs;
        if (rep % 2 == 1) theirs = tool.ping_pong(profile.tool_seconds, kMessage);
        auto engine = lab.paths[0].client(mode, load_args(mode, profile, 0));
        if (rep % 2 == 0) theirs = tool.ping_pong(profile.tool_seconds, kMessage);
        if (!engine || !*theirs) {
            same_cpu_error = (engine ? *theirs : engine).error().message();
            return;
        }
        same_cpu_engine.push_back(engine->at("median_us").get<double>());
        same_cpu_tool.push_back((*theirs)->at("median_us").get<double>());
    }

    // The tool runs right beside the engine's loopback sample, before it in odd rounds and after it
    // in even ones: the pair sees the same host, and neither always follows the container paths.
    Status round(int rep) {
        const bool recorded = rep > 0;
        if (rep % 2 == 1) tool_round(recorded);
        for (std::size_t i = 0; i < lab.paths.size(); ++i) {
            auto doc = engine_sample(i, recorded);
            if (!doc) return fail(Error{"measure veth." + mode + "/" + lab.paths[i].name, "", 0, doc.error().message()});
            if (recorded) record(mode, *doc, figures[i]);
            // The warm-up sizes the loopback stream: what the engine moved in `seconds`.
            if (!recorded && i == 0 && mode != "tcp_rr")
                stream_bytes = std::max<std::uint64_t>(
                    static_cast<std::uint64_t>(doc->at("mbit_per_s").get<double>() * 1e6 / 8 * profile.seconds), 1 << 20);
            if (i == 0 && rep % 2 == 0) tool_round(recorded);
        }
        same_cpu_round(rep);
        return {};
    }
};

report::BenchResult series(const std::string& name, const std::string& unit, const std::vector<double>& samples,
                           nlohmann::json context) {
    auto r = make_result(name, samples, std::move(context));
    r.unit = unit;
    return r;
}

nlohmann::json trace_of(const Figures& f, const NetTracing& tracing) {
    if (!f.trace) return nullptr;
    auto j = f.trace->summary(tracing.tracer->program_kind());
    j["runs"] = f.traced_runs;
    return j;
}

// The engine's loopback samples over the tool's, round by round (the tool ran right beside the
// engine's loopback sample in every round): the median of the per-round ratios and its interval.
// The figure goes on the loopback series, the rounds into its context; a pairing that fails
// (never expected: both sides are recorded in the same rounds) leaves the reason instead.
void set_fidelity(const Run& run, report::BenchResult& loop, const std::vector<double>& tool_values) {
    std::string metric = run.mode == "tcp_rr" ? "tcp_rr median round trip us, 64-byte messages (sockperf --full-rtt)"
                         : run.mode == "udp_stream" ? "udp_stream receiver Mbit/s, 1400-byte datagrams, unlimited rate"
                                                    : "tcp_stream receiver Mbit/s, same byte count";
    auto paired = paired_ratio(loop.samples, tool_values);
    if (!paired) {
        loop.context["fidelity_not_measured"] = run.tool.name() + ": " + paired.error().message();
        return;
    }
    FidelityTarget target{run.mode == "tcp_rr"};
    loop.fidelity = report::Fidelity{run.tool.name(), run.tool.version(), metric + ", median of per-round ratios",
                                     paired->ratio};
    loop.context["fidelity_rounds"] = fidelity_rounds_context(*paired, target);
    loop.context["fidelity_target_met"] = target.met(paired->ratio);
}

// tcp_rr's pinned pairs beside the fidelity figure: their ratio with its interval, or why not.
void set_same_cpu_fidelity(const Run& run, report::BenchResult& loop) {
    if (run.mode != "tcp_rr" || !loop.fidelity) return;
    if (!run.same_cpu_error.empty()) {
        loop.context["fidelity_same_cpu_not_measured"] = run.same_cpu_error;
        return;
    }
    auto paired = paired_ratio(run.same_cpu_engine, run.same_cpu_tool);
    if (!paired) {
        loop.context["fidelity_same_cpu_not_measured"] = paired.error().message();
        return;
    }
    auto ctx = fidelity_rounds_context(*paired, FidelityTarget{true});
    ctx["cpu"] = *run.same_cpu;
    ctx["engine_median_us"] = run.same_cpu_engine;
    ctx["tool_median_us"] = run.same_cpu_tool;
    ctx["what"] = "engine and sockperf again on loopback, each with client and server on this one CPU: no "
                  "wake-up crosses CPUs, so the ratio is the two measurements', not the host's cross-CPU "
                  "wake-up latency (benches/veth/same_cpu.hpp)";
    loop.context["fidelity_same_cpu"] = std::move(ctx);
}

std::vector<report::BenchResult> results_of(Run& run) {
    std::vector<report::BenchResult> out;
    const std::string unit = unit_of(run.mode), base = "veth." + run.mode + "/";
    nlohmann::json common{{"runtime", run.lab.runtime_exe.empty() ? "none" : run.lab.runtime_exe},
                          {"tracer", run.tracing.label()},
                          {"seconds_per_sample", run.profile.seconds},
                          {"order", "round-robin over the paths, one warm-up round not recorded; the fidelity tool "
                                    "beside the loopback sample, alternately before and after it"}};
    if (run.mode == "udp_stream") common["datagram_bytes"] = kDatagram;
    if (run.mode == "tcp_rr") common["message_bytes"] = kMessage;
    if (!run.lab.not_measured.empty()) common["not_measured"] = run.lab.not_measured;
    for (std::size_t i = 0; i < run.lab.paths.size(); ++i) {
        const Path& p = run.lab.paths[i];
        Figures& f = run.figures[i];
        nlohmann::json ctx = common;
        ctx.update(p.context);
        if (p.name == "loopback" && run.mode != "tcp_rr") ctx["bytes_per_sample"] = run.stream_bytes;
        if (!f.loss.empty()) ctx["loss_ratio_median"] = stats::median(f.loss), ctx["loss_ratio_samples"] = f.loss;
        auto r = series(base + p.name, unit, f.value, ctx);
        r.trace = trace_of(f, run.tracing);
        out.push_back(std::move(r));
        if (run.mode == "tcp_rr")
            for (auto [suffix, samples] : {std::pair{"/p99", &f.p99}, std::pair{"/p99.9", &f.p999}})
                out.push_back(series(base + p.name + suffix, unit, *samples, ctx));
    }
    // Ratios against loopback, each percentile against its own.
    for (auto& r : out) {
        std::string suffix = r.name.ends_with("/p99") ? "/p99" : r.name.ends_with("/p99.9") ? "/p99.9" : "";
        if (r.name == base + "loopback" + suffix) continue;
        for (const auto& b : out)
            if (b.name == base + "loopback" + suffix) set_ratio(r, b);
    }
    std::string tool_reason = !run.tool.unavailable().empty() ? run.tool.unavailable() : run.tool_error;
    if (tool_reason.empty() && !run.tool_figures.value.empty()) {
        nlohmann::json ctx = common;
        ctx["what"] = fmt::format("{} {} on the loopback path, same load as ctbench's engine", run.tool.name(), run.tool.version());
        auto t = series(base + "loopback-" + run.tool.name(), unit, run.tool_figures.value, ctx);
        t.trace = trace_of(run.tool_figures, run.tracing);
        set_fidelity(run, out[0], run.tool_figures.value);
        set_same_cpu_fidelity(run, out[0]);
        out.push_back(std::move(t));
    } else {
        // No ratio rather than a zero: the reason stands where the ratio would be.
        out[0].context["fidelity_not_measured"] = run.tool.name() + ": " + tool_reason;
    }
    // Every round recorded one sample of every path (and of the tool): `compare --normalize`
    // pairs a path with loopback round by round.
    for (auto& r : out) r.sampled_in_rounds = true;
    return out;
}

Result<std::vector<report::BenchResult>> measure(const BenchContext& ctx, const std::string& mode) {
    // Private mount namespace: the fixture's overlay and the engine's netns pins die with this
    // child; crun gets the same cgroup view as in the start benches.
    if (auto s = hide_unified_hierarchy(); !s) return fail(s.error());
    auto lab = Lab::build(ctx.runtime);
    if (!lab) return fail(lab.error());
    NetTracing tracing = NetTracing::open(ctx.host);
    auto tool = FidelityTool::start(mode == "tcp_rr" ? "sockperf" : "iperf3");
    Run run{mode, profile(ctx.thorough), ctx.repetitions > 0 ? ctx.repetitions : kDefaultRepetitions,
            **lab, tracing, *tool, std::vector<Figures>((*lab)->paths.size()), {}, {}, 0, std::nullopt, {}, {}, {}};
    for (int rep = 0; rep <= run.reps; ++rep)
        if (auto s = run.round(rep); !s) return fail(s.error());
    return results_of(run);  // the lab, the tool's server and the tracer go with this scope
}

using K = Requirement::Kind;
std::vector<Requirement> needs() {
    return {{K::root, ""}, {K::namespace_type, "network"}, {K::namespace_type, "mount"}, {K::network_feature, "veth"}};
}

CTB_BENCH("veth.tcp_stream",
          "TCP stream throughput (Mbit/s) over loopback, netns-veth, bridge and published ports; iperf3 on loopback",
          needs(), [](const BenchContext& c) { return measure(c, "tcp_stream"); }, std::chrono::minutes(10));
CTB_BENCH("veth.udp_stream",
          "UDP stream throughput (Mbit/s received) and loss over the same paths; iperf3 -u on loopback",
          needs(), [](const BenchContext& c) { return measure(c, "udp_stream"); }, std::chrono::minutes(10));
CTB_BENCH("veth.tcp_rr",
          "TCP request/response round trip (us: median, p99, p99.9) over the same paths; sockperf on loopback",
          needs(), [](const BenchContext& c) { return measure(c, "tcp_rr"); }, std::chrono::minutes(10));

}  // namespace
}  // namespace ctb::bench::veth

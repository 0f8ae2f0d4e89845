#include "benches/harness/traced.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <fmt/format.h>
#include <functional>

#include "bpf/trace_summary.hpp"
#include "reports/requirements.hpp"
#include "reports/stats.hpp"

namespace ctb::bench {
namespace {

std::vector<std::string> attachable(const report::HostProbe& host) {
    std::vector<std::string> kinds;
    for (const auto& [kind, f] : host.bpf_program_types)
        if (f.available) kinds.push_back(kind);
    return kinds;
}

// Everything one traced series collects between the hooks.
struct Recorder {
    Tracing& tracing;
    bpf::Window window;
    std::vector<bpf::Attribution> attributions;

    static bool traced(int index) { return index % 2 == 1; }

    Status before(int index) {
        tracing.tracer->drain();  // whatever came between samples is no sample's
        if (!traced(index)) {
            tracing.tracer->detach();
            return {};
        }
        return tracing.tracer->attach();
    }
    Status after(int index) {
        if (!traced(index)) return {};
        attributions.push_back(bpf::attribute(tracing.tracer->drain(), window));
        return {};
    }
};

// Two warm-up runs, then `count` samples, the hooks outside the timed part. A sample is its
// window: the clock read just around the body, as measure_round_robin times the figures. So
// the buckets, which fill the window, explain the sample itself, and trace.sum_error checks the
// attribution's accounting, not the overhead of whatever loop calls the body (Google Benchmark's
// pause/resume added 30-250 us outside the window, up to 10 % of a 5 ms sample).
Result<std::vector<double>> run_alternating(const Body& body, int count, Recorder& rec) {
    for (int i = 0; i < 2; ++i)
        if (auto s = body(); !s) return fail(s.error());
    std::vector<double> samples;
    for (int i = 0; i < count; ++i) {
        if (auto s = rec.before(i); !s) return fail(s.error());
        rec.window.begin_ns = bpf::monotonic_ns();
        auto s = body();
        rec.window.end_ns = bpf::monotonic_ns();
        if (!s) return fail(s.error());
        samples.push_back(double(rec.window.end_ns - rec.window.begin_ns) / 1e6);
        if (auto a = rec.after(i); !a) return fail(a.error());
    }
    return samples;
}

}  // namespace

Tracing Tracing::open(const report::HostProbe& host) {
    Tracing t;
    if (auto why = unmet_requirement({Requirement::Kind::bpf_tracing, ""}, host); !why.empty()) {
        t.off_reason = why;
        return t;
    }
    auto tracer = bpf::StartTracer::open(attachable(host));
    if (!tracer) {
        t.off_reason = tracer.error().message();
        return t;
    }
    t.tracer = std::move(*tracer);
    t.symbols = bpf::KernelSymbols::load();
    return t;
}

std::string Tracing::label() const { return tracer ? tracer->program_kind() : "off: " + off_reason; }

Result<TracedSamples> measure_traced(const std::string& name, const Body& body, int repetitions, Tracing& tracing,
                                     const std::vector<pid_t>& also_follow) {
    TracedSamples out;
    if (!tracing.tracer) {
        auto samples = measure_ms(name, body, repetitions);
        if (!samples) return fail(samples.error());
        out.untraced_ms = std::move(*samples);
        return out;
    }
    auto& tracer = *tracing.tracer;
    tracer.forget_all();
    if (auto s = tracer.follow(static_cast<pid_t>(::syscall(SYS_gettid))); !s) return fail(s.error());
    for (pid_t helper : also_follow)
        if (auto s = tracer.follow(helper); !s) return fail(s.error());
    std::uint64_t seen0 = tracer.events_seen(), lost0 = tracer.events_lost();
    Recorder rec{tracing, {}, {}};
    rec.window.root_tid = static_cast<std::uint32_t>(::syscall(SYS_gettid));
    auto samples = run_alternating(body, 2 * repetitions, rec);
    tracer.detach();
    tracer.drain();
    tracer.forget_all();
    if (!samples) return fail(samples.error());
    bpf::TraceSeries series;
    bpf::StackLabels labels(tracer, tracing.symbols);
    for (std::size_t i = 0; i < samples->size(); ++i) {
        if (Recorder::traced(static_cast<int>(i))) {
            std::size_t k = out.traced_ms.size();
            out.traced_ms.push_back((*samples)[i]);
            if (k < rec.attributions.size())
                series.add(rec.attributions[k], (*samples)[i], std::ref(labels));
        } else {
            out.untraced_ms.push_back((*samples)[i]);
        }
    }
    std::uint64_t lost = tracer.events_lost() - lost0;
    out.trace = series.summary({{"program_type", tracer.program_kind()},
                                {"events_seen", tracer.events_seen() - seen0},
                                {"events_lost", lost}});
    double untraced = stats::median(out.untraced_ms), traced = stats::median(out.traced_ms);
    out.trace["overhead_ratio"] = untraced > 0 ? traced / untraced : 0.0;
    if (lost > 0)
        out.trace["warning"] = fmt::format("{} events lost (ring buffer full): the breakdown is incomplete", lost);
    return out;
}

}  // namespace ctb::bench

#include "benches/overlayio/kernel_view.hpp"

#include <fmt/format.h>

#include "reports/stats.hpp"

namespace ctb::bench::overlayio {
namespace {

// One tool's traced runs: what it reported, what the kernel timed, how many calls it timed.
struct Side {
    std::vector<double> reported_us, syscall_us, calls;
    nlohmann::json to_json() const {
        return {{"reported_p50_us", reported_us}, {"syscall_p50_us", syscall_us}, {"timed_calls", calls}};
    }
};

Status add_run(Side& side, const TracedDoc& traced, double reported_us, const std::string& direction,
               const std::string& who) {
    const auto& t = traced.trace.at("timed_calls").at(direction);
    double calls = t.at("calls").get<double>(), syscall = t.at("p50_us").get<double>();
    if (calls <= 0 || syscall <= 0 || reported_us <= 0)
        return fail(plain_error("kernel view of the fidelity pair", who,
                                fmt::format("no timed {} calls in the traced run ({} calls, reported p50 {} us)",
                                            direction, calls, reported_us)));
    side.reported_us.push_back(reported_us);
    side.syscall_us.push_back(syscall);
    side.calls.push_back(calls);
    return {};
}

Status engine_run(IoTracing& tracing, const KernelViewRuns& runs, Side& side) {
    auto traced = tracing.around("bare, kernel view", runs.engine, true);
    if (!traced) return fail(traced.error());
    const auto& p50 = traced->doc.at("lat_p50_us");
    return add_run(side, *traced, p50.empty() ? 0.0 : p50[0].get<double>(), runs.direction, "engine");
}

Status fio_run(IoTracing& tracing, const KernelViewRuns& runs, Side& side) {
    FioFigures figures;
    auto traced = tracing.around("fio, kernel view", [&]() -> Result<nlohmann::json> {
        auto f = runs.fio();
        if (!f) return fail(f.error());
        figures = *f;
        return nlohmann::json{{"clat_p50_us", f->clat_p50_us}};
    }, true);
    if (!traced) return fail(traced.error());
    return add_run(side, *traced, figures.clat_p50_us, runs.direction, "fio");
}

std::vector<double> per_pair(const std::vector<double>& a, const std::vector<double>& b, bool ratio) {
    std::vector<double> out;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) out.push_back(ratio ? a[i] / b[i] : a[i] - b[i]);
    return out;
}

}  // namespace

Result<nlohmann::json> fidelity_kernel_view(IoTracing& tracing, const KernelViewRuns& runs) {
    Side engine, fio;
    for (int i = 0; i < runs.pairs; ++i) {
        // Order alternating, as in the measured rounds.
        for (bool engine_turn : {i % 2 == 0, i % 2 != 0}) {
            auto st = engine_turn ? engine_run(tracing, runs, engine) : fio_run(tracing, runs, fio);
            if (!st) return fail(st.error());
        }
    }
    return nlohmann::json{
        {"pairs", runs.pairs},
        {"calls", runs.direction == "read" ? "pread64" : "pwrite64"},
        {"engine", engine.to_json()},
        {"fio", fio.to_json()},
        {"reported_ratio", stats::median(per_pair(engine.reported_us, fio.reported_us, true))},
        {"syscall_ratio", stats::median(per_pair(engine.syscall_us, fio.syscall_us, true))},
        {"window_us",
         {{"engine", stats::median(per_pair(engine.reported_us, engine.syscall_us, false))},
          {"fio", stats::median(per_pair(fio.reported_us, fio.syscall_us, false))}}},
        {"how", "after the measured rounds, pairs of the engine's bare pass and fio's run with the I/O tracer "
                "attached (order alternating): reported = each tool's own median latency in that run, syscall = "
                "the kernel's median duration of its timed calls (sys_enter to sys_exit; the tracer's hooks "
                "lengthen both tools' calls alike), window = reported - syscall, each tool's own time around "
                "the call; ratios are medians of the per-pair engine / fio ratios"}};
}

}  // namespace ctb::bench::overlayio

// overlayio.seqread, .seqwrite, .randread, .randwrite: ctbench-agent's I/O engine on one file,
// in a container of the runtime under test (the file in the overlay's upper layer on the state
// directory), bare in a directory of the same backing filesystem, and on tmpfs, all in the same
// run; once with O_DIRECT (where the filesystem allows it) and once buffered with the page cache
// dropped before reads. fio measures the same bare path with the same job (fidelity).
#include <fmt/format.h>

#include "benches/harness/measure.hpp"
#include "benches/overlayio/env.hpp"
#include "benches/overlayio/fio.hpp"
#include "benches/overlayio/series.hpp"
#include "benches/overlayio/tracing.hpp"
#include "reports/stats.hpp"

namespace ctb::bench::overlayio {
namespace {

constexpr int kDefaultRepetitions = 9;
constexpr int kFioRuns = 3;  // fio's figure is the median of this many runs

struct Workload {
    std::string name;  // agent workload: seqread ...
    std::string fio_rw;
    bool random;
};

struct Sizes {
    std::uint64_t file_mib;
    std::uint64_t rand_ops;  // 4 KiB transfers per sample
};

// Quick: what this 2-core VM does in seconds; thorough: past the page cache of real hardware.
Sizes sizes(const BenchContext& ctx) { return ctx.thorough ? Sizes{2048, 32768} : Sizes{64, 1024}; }

std::vector<std::string> engine_args(const Workload& w, const std::string& path, const Sizes& s, int reps,
                                     const std::string& mode) {
    return {"iobench", w.name, path, "--size", std::to_string(s.file_mib), "--reps", std::to_string(reps),
            "--ops", std::to_string(s.rand_ops), "--mode", mode, "--cache", "drop"};
}

// What the engine says about how it ran, copied into the figure's context.
void copy_engine_context(const nlohmann::json& doc, nlohmann::json& c) {
    for (const char* k : {"mode", "direct_refused", "cache", "block_bytes", "file_bytes", "ops_per_sample",
                          "cached_fraction_before", "lat_mean_us", "lat_p50_us", "lat_p99_us"})
        if (doc.contains(k)) c[k] = doc[k];
    if (doc.value("mode", "") == "buffered" && !doc.value("direct_refused", std::string()).empty())
        c["note"] = "O_DIRECT refused: buffered I/O instead";
}

// fio's median figures over kFioRuns on the bare directory, with the job the engine ran.
Result<FioFigures> fio_median(const Workload& w, const Env& env, const Sizes& s, bool direct) {
    FioJob job{env.bare_dir() + "/fio.dat", w.fio_rw, w.random ? 4096u : 1u << 20, s.file_mib << 20,
               w.random ? s.rand_ops : 0, direct};
    std::vector<double> mib, lat, p50, p99;
    std::string version;
    for (int i = 0; i < kFioRuns; ++i) {
        auto f = run_fio(job);
        if (!f) return fail(f.error());
        version = f->version;
        mib.push_back(f->mib_per_s);
        lat.push_back(f->clat_mean_us);
        p50.push_back(f->clat_p50_us);
        p99.push_back(f->clat_p99_us);
    }
    return FioFigures{version, stats::median(mib), 0, stats::median(lat), stats::median(p50), stats::median(p99)};
}

void add_fidelity(report::BenchResult& bare, const Workload& w, const Result<FioFigures>& fio, bool direct) {
    if (!fio) return set_fidelity_skipped(bare, fio.error().message());
    std::string how = fmt::format("{}, {}, qd1", w.fio_rw, direct ? "O_DIRECT" : "buffered");
    double ours_mib = bare.median;
    bare.context["fio"] = {{"mib_per_s", fio->mib_per_s}, {"clat_mean_us", fio->clat_mean_us},
                           {"clat_p50_us", fio->clat_p50_us}, {"clat_p99_us", fio->clat_p99_us},
                           {"runs", kFioRuns}, {"throughput_ratio", ours_mib / fio->mib_per_s}};
    // Random I/O: the median transfer's latency. A mean over 1024 transfers is one stall away
    // from another figure (a 12 ms wait in one pass triples the mean of 3 us buffered writes),
    // which says nothing about the engine; fio's percentiles are its own histogram's.
    if (w.random && bare.context.contains("lat_p50_us") && fio->clat_p50_us > 0) {
        auto lat = bare.context["lat_p50_us"].get<std::vector<double>>();
        auto mean = bare.context["lat_mean_us"].get<std::vector<double>>();
        bare.context["fio"]["mean_latency_ratio"] = stats::median(mean) / fio->clat_mean_us;
        set_fidelity(bare, {"fio", fio->version, "median completion latency us (" + how + ")",
                            stats::median(lat) / fio->clat_p50_us, true});
        return;
    }
    set_fidelity(bare, {"fio", fio->version, "MiB/s (" + how + ")", ours_mib / fio->mib_per_s, false});
}

Result<std::vector<report::BenchResult>> run_mode(Env& env, IoTracing& tracing, const Workload& w, const Sizes& s,
                                                  int reps, const std::string& mode) {
    const std::string bench = "overlayio." + w.name;
    const std::string suffix = mode == "direct" ? "" : "-" + mode;
    std::vector<report::BenchResult> out;
    const std::vector<std::pair<std::string, std::string>> places{
        {"container", "/ctbench-iobench.dat"},
        {"bare", env.bare_dir() + "/iobench.dat"},
        {"tmpfs", env.tmpfs_dir() + "/iobench.dat"}};
    for (const auto& [where, path] : places) {
        auto run = [&, place = where, file = path](int n) {
            auto args = engine_args(w, file, s, n, mode);
            return place == "container" ? env.in_container(args) : env.bare(args);
        };
        // The figures come from an untraced run: a 4 KiB buffered write takes a few microseconds,
        // which the tracer's system-call hook would visibly lengthen (and fio runs untraced).
        auto doc = run(reps);
        if (!doc) return fail(doc.error());
        auto samples = positive_samples(*doc, "samples");
        if (!samples) return fail(samples.error());
        auto c = env.context(where);
        copy_engine_context(*doc, c);
        c["tracer"] = tracing.label();
        auto r = series(bench + "/" + where + suffix, "MiB/s", *samples, c);
        if (tracing.on()) {
            auto traced = tracing.around(where, [&] { return run(1); });
            if (!traced) return fail(traced.error());
            r.trace = traced->trace;
            r.trace["window"] = "one more repetition with the tracer attached, after the measured ones";
            if (auto t = positive_samples(traced->doc, "samples"); t && r.median > 0)
                r.trace["traced_sample_ratio"] = t->front() / r.median;
        }
        out.push_back(std::move(r));
    }
    set_ratio(out[0], out[1]);
    set_ratio(out[2], out[1]);
    add_fidelity(out[1], w, fio_median(w, env, s, mode == "direct"), mode == "direct");
    return out;
}

Result<std::vector<report::BenchResult>> run_workload(const BenchContext& ctx, const Workload& w) {
    const Sizes s = sizes(ctx);
    const int reps = ctx.repetitions > 0 ? ctx.repetitions : kDefaultRepetitions;
    auto env = Env::open(ctx, static_cast<int>(s.file_mib) + 32);
    if (!env) return fail(env.error());
    // The engine's file, fio's file and the container layer's copy: all on the backing fs.
    if (auto st = check_space((*env)->dir(), 3 * s.file_mib + 256); !st) return fail(st.error());
    if (auto st = (*env)->mount_rootfs({}); !st) return fail(st.error());
    IoTracing tracing = IoTracing::open(ctx.host, **env);
    if (auto st = tracing.watch_rootfs(**env, (*env)->lower()); !st) return fail(st.error());
    std::vector<report::BenchResult> all;
    for (const char* mode : {"direct", "buffered"}) {
        auto part = run_mode(**env, tracing, w, s, reps, mode);
        if (!part) return fail(part.error());
        for (auto& r : *part) all.push_back(std::move(r));
    }
    return all;
}

using K = Requirement::Kind;
const std::vector<Requirement> kNeeds{{K::root, ""}, {K::namespace_type, "mount"}, {K::namespace_type, "cgroup"}};

CTB_BENCH("overlayio.seqread",
          "sequential read, 1 MiB blocks: container (overlay upper) vs bare vs tmpfs, O_DIRECT and buffered cold; fio",
          kNeeds, [](const BenchContext& c) { return run_workload(c, {"seqread", "read", false}); },
          std::chrono::minutes(10), true);
CTB_BENCH("overlayio.seqwrite",
          "sequential write + fsync, 1 MiB blocks: container vs bare vs tmpfs, O_DIRECT and buffered; fio",
          kNeeds, [](const BenchContext& c) { return run_workload(c, {"seqwrite", "write", false}); },
          std::chrono::minutes(10), true);
CTB_BENCH("overlayio.randread",
          "random read, 4 KiB blocks, qd1: container vs bare vs tmpfs, O_DIRECT and buffered cold; fio",
          kNeeds, [](const BenchContext& c) { return run_workload(c, {"randread", "randread", true}); },
          std::chrono::minutes(10), true);
CTB_BENCH("overlayio.randwrite",
          "random write + fsync, 4 KiB blocks, qd1: container vs bare vs tmpfs, O_DIRECT and buffered; fio",
          kNeeds, [](const BenchContext& c) { return run_workload(c, {"randwrite", "randwrite", true}); },
          std::chrono::minutes(10), true);

}  // namespace
}  // namespace ctb::bench::overlayio

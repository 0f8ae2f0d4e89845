// overlayio.seqread, .seqwrite, .randread, .randwrite: ctbench-agent's I/O engine on one file,
// in a container of the runtime under test (the file in the overlay's upper layer on the state
// directory), bare in a directory of the same backing filesystem, and on tmpfs, all in the same
// run; once with O_DIRECT (where the filesystem allows it) and once buffered with the page cache
// dropped before reads. fio measures the same bare path with the same job (fidelity), right beside
// the engine's bare pass in every round, so the fidelity ratio is a median of per-round ratios
// (benches/harness/fidelity.hpp). For the random workloads, traced pairs after the measured rounds
// show the same pair by the kernel's clock (benches/overlayio/kernel_view.hpp).
#include <fmt/format.h>

#include "benches/harness/fidelity.hpp"
#include "benches/harness/measure.hpp"
#include "benches/overlayio/env.hpp"
#include "benches/overlayio/fio.hpp"
#include "benches/overlayio/kernel_view.hpp"
#include "benches/overlayio/series.hpp"
#include "benches/overlayio/tracing.hpp"
#include "reports/stats.hpp"

namespace ctb::bench::overlayio {
namespace {

constexpr int kDataRepetitions = 9;
constexpr int kKernelViewPairs = 3;  // traced pairs after the measured rounds (random benches)

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
Sizes sizes(const BenchContext& ctx) { return ctx.thorough ? Sizes{2048, 32768} : Sizes{64, 4096}; }

// One pass per engine process: a round takes one sample of each place, so every sample comes from
// its own process with its own freshly laid-out file, exactly like each fio run.
std::vector<std::string> engine_args(const Workload& w, const std::string& path, const Sizes& s,
                                     const std::string& mode) {
    return {"iobench", w.name, path, "--size", std::to_string(s.file_mib), "--reps", "1",
            "--ops", std::to_string(s.rand_ops), "--mode", mode, "--cache", "drop"};
}

// One place's samples, round by round, and what the engine said about how it ran.
struct PlaceRuns {
    std::vector<double> mib, seconds;
    nlohmann::json first_doc;                   // mode, direct_refused, sizes: the same every round
    nlohmann::json per_round = nlohmann::json::object();  // lat_*_us, cached_fraction_before: one entry per round
};

Status add_engine_sample(PlaceRuns& p, const nlohmann::json& doc) {
    auto mib = positive_samples(doc, "samples");
    if (!mib) return fail(mib.error());
    auto secs = positive_samples(doc, "seconds");
    if (!secs) return fail(secs.error());
    p.mib.push_back(mib->front());
    p.seconds.push_back(secs->front());
    if (p.first_doc.is_null()) p.first_doc = doc;
    for (const char* k : {"cached_fraction_before", "lat_mean_us", "lat_p50_us", "lat_p99_us"})
        if (doc.contains(k) && doc[k].is_array() && !doc[k].empty()) p.per_round[k].push_back(doc[k][0]);
    return {};
}

// What the engine says about how it ran, copied into the figure's context.
void copy_engine_context(const PlaceRuns& p, nlohmann::json& c) {
    for (const char* k : {"mode", "direct_refused", "cache", "block_bytes", "file_bytes", "ops_per_sample"})
        if (p.first_doc.contains(k)) c[k] = p.first_doc[k];
    c.update(p.per_round);
    c["pass_seconds"] = p.seconds;
    if (p.first_doc.value("mode", "") == "buffered" && !p.first_doc.value("direct_refused", std::string()).empty())
        c["note"] = "O_DIRECT refused: buffered I/O instead";
}

// fio's runs, one per round beside the bare engine sample; the first failure ends them (the
// engine's figures still stand, the bare series says why it has no fidelity).
struct FioRuns {
    std::vector<FioFigures> runs;
    std::string error;
};

FioJob fio_job(const Workload& w, const Env& env, const Sizes& s, bool direct) {
    return {env.bare_dir() + "/fio.dat", w.fio_rw, w.random ? 4096u : 1u << 20, s.file_mib << 20,
            w.random ? s.rand_ops : 0, direct};
}

// Engine over fio, round by round. Sequential: throughput, the engine's pass time rounded up to
// whole milliseconds as fio's runtime is. Random: the median transfer's completion latency (the
// engine's per-pass median against fio's clat p50): a mean over 1024 transfers moves with one
// stall of the host, not with the engine.
void add_fidelity(report::BenchResult& bare, const Workload& w, const PlaceRuns& engine, const FioRuns& fio,
                  const FioJob& job) {
    const bool direct = job.direct;
    if (!fio.error.empty()) return set_fidelity_skipped(bare, fio.error);
    std::string how = fmt::format("{}, {}, qd1", w.fio_rw, direct ? "O_DIRECT" : "buffered");
    std::vector<double> ours, theirs, fio_mib, fio_mean, fio_p50, fio_p99;
    for (const auto& f : fio.runs) {
        fio_mib.push_back(f.mib_per_s);
        fio_mean.push_back(f.clat_mean_us);
        fio_p50.push_back(f.clat_p50_us);
        fio_p99.push_back(f.clat_p99_us);
    }
    const bool latency = w.random;
    if (latency) {
        ours = bare.context.value("lat_p50_us", std::vector<double>{});
        theirs = fio_p50;
    } else {
        const double bytes = engine.first_doc.value("bytes_per_sample", 0.0);
        for (double sec : engine.seconds) ours.push_back(mib_per_s_at_fio_resolution(bytes, sec));
        theirs = fio_mib;
    }
    bare.context["fio"] = {{"mib_per_s", fio_mib}, {"clat_mean_us", fio_mean}, {"clat_p50_us", fio_p50},
                           {"clat_p99_us", fio_p99}, {"runs", fio.runs.size()},
                           {"job", fio_argv("fio", job)}};
    FidelityTarget target{latency};
    auto paired = paired_ratio(ours, theirs);
    if (!paired) return set_fidelity_skipped(bare, paired.error().message());
    // Both secondary figures, paired the same way, for the reader (never the verdict).
    if (auto t = paired_ratio(bare.samples, fio_mib)) bare.context["fio"]["throughput_ratio"] = t->ratio;
    if (latency)
        if (auto m = paired_ratio(bare.context.value("lat_mean_us", std::vector<double>{}), fio_mean))
            bare.context["fio"]["mean_latency_ratio"] = m->ratio;
    std::string metric = latency ? "median completion latency us (" + how + ")"
                                 : "MiB/s at fio's 1 ms runtime resolution (" + how + ")";
    set_fidelity(bare, {"fio", fio.runs.front().version, metric, paired->ratio, latency});
    bare.context["fidelity_rounds"] = fidelity_rounds_context(*paired, target);
}

Result<std::vector<report::BenchResult>> run_mode(Env& env, IoTracing& tracing, const Workload& w, const Sizes& s,
                                                  int reps, const std::string& mode) {
    const std::string bench = "overlayio." + w.name;
    const std::string suffix = mode == "direct" ? "" : "-" + mode;
    const std::vector<std::pair<std::string, std::string>> places{
        {"container", "/ctbench-iobench.dat"},
        {"bare", env.bare_dir() + "/iobench.dat"},
        {"tmpfs", env.tmpfs_dir() + "/iobench.dat"}};
    auto run = [&](std::size_t i) {
        auto args = engine_args(w, places[i].second, s, mode);
        return places[i].first == "container" ? env.in_container(args) : env.bare(args);
    };
    const FioJob job = fio_job(w, env, s, mode == "direct");
    std::vector<PlaceRuns> runs(places.size());
    FioRuns fio;
    auto fio_sample = [&] {
        if (!fio.error.empty()) return;
        auto f = run_fio(job);
        if (f) fio.runs.push_back(*f);
        else fio.error = f.error().message();
    };
    // Round by round: container, then bare and fio back to back (fio first in odd rounds), then
    // tmpfs. A burst of host load that lasts a round hits the pair alike. The figures come from
    // untraced runs: a 4 KiB buffered write takes a few microseconds, which the tracer's
    // system-call hook would visibly lengthen (and fio runs untraced).
    for (int r = 0; r < reps; ++r) {
        for (std::size_t i = 0; i < places.size(); ++i) {
            if (places[i].first == "bare" && r % 2 == 1) fio_sample();
            auto doc = run(i);
            if (!doc) return fail(doc.error());
            if (auto st = add_engine_sample(runs[i], *doc); !st) return fail(st.error());
            if (places[i].first == "bare" && r % 2 == 0) fio_sample();
        }
    }
    std::vector<report::BenchResult> out;
    for (std::size_t i = 0; i < places.size(); ++i) {
        const std::string& where = places[i].first;
        auto c = env.context(where);
        copy_engine_context(runs[i], c);
        c["tracer"] = tracing.label();
        c["order"] = "round by round: container, bare and fio back to back (alternating), tmpfs; one pass per process";
        auto r = series(bench + "/" + where + suffix, "MiB/s", runs[i].mib, c);
        r.sampled_in_rounds = true;
        if (tracing.on()) {
            auto traced = tracing.around(where, [&] { return run(i); }, true);
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
    add_fidelity(out[1], w, runs[1], fio, job);
    if (w.random && tracing.on() && fio.error.empty()) {
        KernelViewRuns kv{kKernelViewPairs, w.name.ends_with("write") ? "write" : "read", [&] { return run(1); },
                          [&] { return run_fio(job); }};
        // An extra view: when it cannot be taken the measured series stand, and the context says why.
        auto view = fidelity_kernel_view(tracing, kv);
        out[1].context["fidelity_kernel_view"] =
            view ? std::move(*view) : nlohmann::json{{"not_run", view.error().message()}};
    } else if (w.random && !tracing.on()) {
        out[1].context["fidelity_kernel_view"] = {{"not_run", "the I/O tracer is " + tracing.label()}};
    }
    return out;
}

Result<std::vector<report::BenchResult>> run_workload(const BenchContext& ctx, const Workload& w) {
    const Sizes s = sizes(ctx);
    const int reps = ctx.repetitions > 0 ? ctx.repetitions : kDataRepetitions;
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

// overlayio.metadata: metadata operations per second (create, stat, open/close, rename, unlink,
// and readdir of the large directory they make) in a directory the container creates on its
// overlay rootfs (so in the upper layer), bare on the same backing filesystem, and on tmpfs.
#include <fmt/format.h>

#include "benches/harness/measure.hpp"
#include "benches/overlayio/env.hpp"
#include "benches/overlayio/series.hpp"
#include "benches/overlayio/tracing.hpp"

namespace ctb::bench::overlayio {
namespace {

constexpr int kMetaRepetitions = 9;
const std::vector<std::string> kOps{"create", "stat", "open_close", "readdir", "rename", "unlink"};

Result<std::vector<report::BenchResult>> metadata(const BenchContext& ctx) {
    const int reps = ctx.repetitions > 0 ? ctx.repetitions : kMetaRepetitions;
    const int files = ctx.thorough ? 20000 : 2000;
    auto env = Env::open(ctx, 64);
    if (!env) return fail(env.error());
    if (auto st = (*env)->mount_rootfs({}); !st) return fail(st.error());
    IoTracing tracing = IoTracing::open(ctx.host, **env);
    if (auto st = tracing.watch_rootfs(**env, (*env)->lower()); !st) return fail(st.error());
    std::vector<report::BenchResult> out;
    const std::vector<std::pair<std::string, std::string>> places{
        {"container", "/"}, {"bare", (*env)->bare_dir()}, {"tmpfs", (*env)->tmpfs_dir()}};
    for (const auto& [where, dir] : places) {
        std::vector<std::string> args{"iobench", "meta", dir, "--files", std::to_string(files), "--reps",
                                      std::to_string(reps)};
        auto doc = tracing.around(where, [&, w = where] { return w == "container" ? (*env)->in_container(args) : (*env)->bare(args); });
        if (!doc) return fail(doc.error());
        for (const auto& op : kOps) {
            auto samples = positive_samples(doc->doc["ops"], op);
            if (!samples) return fail(samples.error());
            auto c = (*env)->context(where);
            c["files"] = files;
            c["tracer"] = tracing.label();
            c["what"] = op == "readdir" ? "directory entries listed per second (10 listings of the directory)"
                                        : op + " of each file of a new directory, per second";
            auto r = series(fmt::format("overlayio.metadata/{}-{}", op, where), op == "readdir" ? "entries/s" : "ops/s",
                            *samples, c);
            // One window covers every operation of this place: its summary sits on the first.
            if (op == kOps.front())
                r.trace = doc->trace;
            else if (!doc->trace.is_null())
                r.context["trace_on"] = fmt::format("overlayio.metadata/{}-{}", kOps.front(), where);
            out.push_back(std::move(r));
        }
    }
    // out: container ops, bare ops, tmpfs ops (kOps order each)
    const std::size_t n = kOps.size();
    for (std::size_t i = 0; i < n; ++i) {
        set_ratio(out[i], out[n + i]);
        set_ratio(out[2 * n + i], out[n + i]);
    }
    return out;
}

using K = Requirement::Kind;
CTB_BENCH("overlayio.metadata",
          "create, stat, open/close, readdir, rename, unlink per second: container (overlay upper) vs bare vs tmpfs",
          {{K::root, ""}, {K::namespace_type, "mount"}, {K::namespace_type, "cgroup"}}, metadata,
          std::chrono::minutes(10), true);

}  // namespace
}  // namespace ctb::bench::overlayio

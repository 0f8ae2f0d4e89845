// overlayio.lookup: path lookup cost against the number of lower layers (1, 8, 32). Every layer
// has the directory /lk (as image layers share directories); only the bottom one holds the files,
// so each lookup on a fresh overlay mount walks every layer above it. The container stats each
// file once (cold for overlayfs: the mount is new) and once more (warm); the figure is the mean
// time of a cold lookup. Bare baseline: the same stats on the bottom layer's directory itself.
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "benches/harness/measure.hpp"
#include "benches/overlayio/env.hpp"
#include "benches/overlayio/series.hpp"
#include "benches/overlayio/tracing.hpp"
#include "common/files.hpp"
#include "reports/stats.hpp"

namespace ctb::bench::overlayio {
namespace {

constexpr int kLookupRepetitions = 9;
constexpr int kMaxDepth = 32;

// dir/lookup/L0 (bottom: the files) .. L31 (empty /lk each). Returns the layer dirs, bottom first.
Result<std::vector<std::string>> make_layers(const Env& env, int files, int reps) {
    std::vector<std::string> layers;
    for (int l = 0; l < kMaxDepth; ++l) {
        std::string layer = fmt::format("{}/lookup/L{}", env.dir(), l);
        if (auto st = make_dirs(layer + "/lk", 0755); !st) return fail(st.error());
        layers.push_back(layer);
    }
    for (int r = 0; r < reps; ++r)
        for (int i = 0; i < files; ++i) {
            std::string p = fmt::format("{}/lk/s{}-{}", layers[0], r, i);
            int fd = ::open(p.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
            if (fd < 0) return fail(sys_error("create", p));
            ::close(fd);
        }
    return layers;
}

nlohmann::json warm_context(const nlohmann::json& doc) {
    if (!doc.contains("warm_us")) return nullptr;
    return stats::median(doc["warm_us"].get<std::vector<double>>());
}

Result<std::vector<report::BenchResult>> lookup(const BenchContext& ctx) {
    const int reps = ctx.repetitions > 0 ? ctx.repetitions : kLookupRepetitions;
    const int files = ctx.thorough ? 10000 : 1000;
    auto env = Env::open(ctx, 16);
    if (!env) return fail(env.error());
    auto layers = make_layers(**env, files, reps);
    if (!layers) return fail(layers.error());
    IoTracing tracing = IoTracing::open(ctx.host, **env);
    std::vector<report::BenchResult> out;
    auto args = [&](const std::string& dir) {
        return std::vector<std::string>{"iobench", "lookup", dir, "--files", std::to_string(files), "--reps",
                                        std::to_string(reps)};
    };
    auto bare = tracing.around("bare", [&] { return (*env)->bare(args((*layers)[0] + "/lk")); });
    if (!bare) return fail(bare.error());
    auto bare_samples = positive_samples(bare->doc, "samples");
    if (!bare_samples) return fail(bare_samples.error());
    auto c = (*env)->context("bare");
    c["files_per_sample"] = files;
    c["warm_us_median"] = warm_context(bare->doc);
    c["tracer"] = tracing.label();
    out.push_back(series("overlayio.lookup/bare", "us", *bare_samples, c));
    out.back().trace = bare->trace;
    for (int depth : {1, 8, 32}) {
        // lowerdir is top-most first: L<depth-1> .. L0 above the image.
        std::vector<std::string> lower((*layers).rend() - depth, (*layers).rend());
        if (auto st = (*env)->mount_rootfs(lower); !st) return fail(st.error());
        if (auto st = tracing.watch_rootfs(**env, (*env)->lower()); !st) return fail(st.error());
        auto doc = tracing.around("container", [&] { return (*env)->in_container(args("/lk")); });
        if (!doc) return fail(doc.error());
        auto samples = positive_samples(doc->doc, "samples");
        if (!samples) return fail(samples.error());
        auto cc = (*env)->context("container");
        cc["lower_layers"] = depth;
        cc["files_per_sample"] = files;
        cc["warm_us_median"] = warm_context(doc->doc);
        cc["tracer"] = tracing.label();
        cc["what"] = "stat of a file of the bottom layer, first lookup on a fresh overlay mount (mean per lookup)";
        out.push_back(series(fmt::format("overlayio.lookup/depth-{}", depth), "us", *samples, cc));
        out.back().trace = doc->trace;
        set_ratio(out.back(), out.front());
    }
    return out;
}

using K = Requirement::Kind;
CTB_BENCH("overlayio.lookup", "path lookup in a container against 1, 8 and 32 lower layers, vs bare",
          {{K::root, ""}, {K::namespace_type, "mount"}, {K::namespace_type, "cgroup"}}, lookup,
          std::chrono::minutes(10), true);

}  // namespace
}  // namespace ctb::bench::overlayio

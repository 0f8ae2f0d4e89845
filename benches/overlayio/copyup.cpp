// overlayio.copyup: the first modification of a lower-layer file inside a container, against the
// file's size. A write (open O_WRONLY + 1 byte) copies data and metadata up; a chmod copies the
// metadata only when metacopy is on, the whole file when it is off. Each sample is a distinct
// file of one lower layer; every variant mounts a fresh rootfs (empty upper layer) over the same
// lower layer. Reads of the whole file before (from the lower layer) and after the copy-up are
// measured in the same container. Bare baseline: the same operations on the same files directly
// on the backing filesystem (no copy at all), after the containers.
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "benches/harness/measure.hpp"
#include "benches/overlayio/env.hpp"
#include "benches/overlayio/series.hpp"
#include "benches/overlayio/tracing.hpp"
#include "common/fd.hpp"
#include "common/files.hpp"

namespace ctb::bench::overlayio {
namespace {

constexpr int kCopyupRepetitions = 9;

struct Size {
    std::string label;  // "4k"
    std::uint64_t bytes;
};

// The quick profile stops at 64 MiB: 256 MiB files (9 of them, each written, copied and read
// twice) take longer than the whole overlay budget here; --thorough adds them.
std::vector<Size> sizes(const BenchContext& ctx) {
    std::vector<Size> s{{"4k", 4096}, {"1m", 1 << 20}, {"64m", 64ull << 20}};
    if (ctx.thorough) s.push_back({"256m", 256ull << 20});
    return s;
}

Status write_lower_file(const std::string& path, std::uint64_t bytes) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return fail(sys_error("create", path));
    std::string block(1 << 20, 'l');
    for (std::uint64_t off = 0; off < bytes;) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), bytes - off));
        ssize_t w = ::pwrite(fd.get(), block.data(), n, static_cast<off_t>(off));
        if (w <= 0) return fail(sys_error("write", path));
        off += static_cast<std::uint64_t>(w);
    }
    return {};
}

// lower/cu-<size>/f0 .. f<reps-1>, synced so that no writeback of the setup lands in a sample.
Result<std::string> make_lower(const Env& env, const std::vector<Size>& sz, int reps) {
    std::string lower = env.dir() + "/lower-copyup";
    for (const auto& s : sz) {
        std::string d = lower + "/cu-" + s.label;
        if (auto st = make_dirs(d, 0755); !st) return fail(st.error());
        for (int i = 0; i < reps; ++i)
            if (auto st = write_lower_file(fmt::format("{}/f{}", d, i), s.bytes); !st) return fail(st.error());
    }
    ::sync();
    return lower;
}

struct Variant {
    std::string name;  // series prefix: write, chmod-metacopy-off ...
    std::string op;    // agent --op
    std::vector<std::string> mount_options;
};

std::vector<Variant> variants(const BenchContext& ctx, std::string& metacopy_note) {
    std::vector<Variant> v{{"write", "write", {"metacopy=off"}}, {"chmod-metacopy-off", "chmod", {"metacopy=off"}}};
    auto it = ctx.host.overlay_features.find("metacopy");
    if (it != ctx.host.overlay_features.end() && it->second.available)
        v.push_back({"chmod-metacopy-on", "chmod", {"metacopy=on", "redirect_dir=on"}});
    else
        metacopy_note = "metacopy=on not measured: " + (it == ctx.host.overlay_features.end() ? std::string("not probed")
                                                                                                : it->second.detail);
    return v;
}

// One agent run (container or bare) on one size: copy-up samples and reads around them.
struct Run {
    TracedDoc doc;
    std::vector<double> up, before, after;
};

Result<Run> run_one(Env& env, IoTracing& tracing, const std::string& where, const std::string& dir,
                    const std::string& op, int reps) {
    std::vector<std::string> args{"iobench", "copyup", dir, "--count", std::to_string(reps), "--op", op};
    auto doc = tracing.around(where, [&] { return where == "bare" ? env.bare(args) : env.in_container(args); });
    if (!doc) return fail(doc.error());
    Run r{std::move(*doc), {}, {}, {}};
    for (auto [key, out] : {std::pair{"samples", &r.up}, {"read_before_mib_per_s", &r.before}, {"read_after_mib_per_s", &r.after}}) {
        auto v = positive_samples(r.doc.doc, key);
        if (!v) return fail(v.error());
        *out = std::move(*v);
    }
    return r;
}

Result<std::vector<report::BenchResult>> copyup(const BenchContext& ctx) {
    const int reps = ctx.repetitions > 0 ? ctx.repetitions : kCopyupRepetitions;
    auto env = Env::open(ctx, 16);
    if (!env) return fail(env.error());
    auto sz = sizes(ctx);
    // The lower files, plus a full copy of each for the two data copy-up variants.
    std::uint64_t per_set_mib = 0;
    for (const auto& s : sz) per_set_mib += (s.bytes >> 20) + 1;
    if (auto st = check_space((*env)->dir(), 3 * per_set_mib * static_cast<std::uint64_t>(reps) + 256); !st)
        return fail(st.error());
    auto lower = make_lower(**env, sz, reps);
    if (!lower) return fail(lower.error());
    std::string metacopy_note;
    IoTracing tracing = IoTracing::open(ctx.host, **env);
    std::vector<report::BenchResult> out;
    auto add = [&](const std::string& name, const std::string& unit, std::vector<double> v, nlohmann::json c,
                   nlohmann::json trace) {
        c["tracer"] = tracing.label();
        if (!metacopy_note.empty()) c["metacopy"] = metacopy_note;
        out.push_back(series("overlayio.copyup/" + name, unit, std::move(v), std::move(c)));
        out.back().trace = std::move(trace);
        return out.size() - 1;
    };
    auto vs = variants(ctx, metacopy_note);
    std::map<std::string, std::size_t> container_index;  // "<variant>-<size>" -> result index
    for (const auto& v : vs) {
        if (auto st = (*env)->mount_rootfs({*lower}, v.mount_options); !st) return fail(st.error());
        if (auto st = tracing.watch_rootfs(**env, (*env)->lower()); !st) return fail(st.error());
        for (const auto& s : sz) {
            auto r = run_one(**env, tracing, "container", "/cu-" + s.label, v.op, reps);
            if (!r) return fail(r.error());
            auto c = (*env)->context("container");
            c["file_bytes"] = s.bytes;
            c["overlay_options"] = v.mount_options;
            c["what"] = v.op == "write" ? "open(O_WRONLY) + 1-byte write of a lower-layer file (copy-up)"
                                        : "chmod of a lower-layer file (metadata copy-up; data too unless metacopy)";
            container_index[v.name + "-" + s.label] = add(v.name + "-" + s.label, "ms", r->up, c, r->doc.trace);
            if (v.op == "write" || v.name == "chmod-metacopy-on") {
                c["what"] = "read of the whole file after the " + v.name + " copy-up (page cache warm)";
                auto after = add("read-after-" + v.name + "-" + s.label, "MiB/s", r->after, c, nullptr);
                c["what"] = "read of the whole lower-layer file before any copy-up (page cache warm)";
                auto before = add("read-lower-" + v.name + "-" + s.label, "MiB/s", r->before, c, nullptr);
                set_ratio(out[after], out[before]);
            }
        }
    }
    // Bare: the same operations on the same files, no overlay (they are modified in place, which is
    // why this comes after every container).
    for (const auto& v : {Variant{"write", "write", {}}, Variant{"chmod", "chmod", {}}}) {
        for (const auto& s : sz) {
            auto r = run_one(**env, tracing, "bare", *lower + "/cu-" + s.label, v.op, reps);
            if (!r) return fail(r.error());
            auto c = (*env)->context("bare");
            c["file_bytes"] = s.bytes;
            c["what"] = v.op + " of a file directly on the backing filesystem (no copy-up)";
            auto bare = add("bare-" + v.name + "-" + s.label, "ms", r->up, c, r->doc.trace);
            for (const auto& [key, idx] : container_index)
                if (key.starts_with(v.name) && key.ends_with("-" + s.label)) set_ratio(out[idx], out[bare]);
        }
    }
    return out;
}

using K = Requirement::Kind;
CTB_BENCH("overlayio.copyup",
          "copy-up latency against file size (write; chmod with metacopy off/on) and reads before/after it, vs bare",
          {{K::root, ""}, {K::namespace_type, "mount"}, {K::namespace_type, "cgroup"}}, copyup,
          std::chrono::minutes(10), true);

}  // namespace
}  // namespace ctb::bench::overlayio

// start.overlay: mounting a container's overlay rootfs against the number of image layers (1, 2,
// 8, 32 lower layers, each with a file, plus upper and work), mount + umount per sample, in a
// private mount namespace of the bench child. Ratios against one layer.
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>

#include "benches/harness/measure.hpp"
#include "benches/registry.hpp"
#include "common/files.hpp"
#include "runtime/rootfs/overlay.hpp"

namespace ctb::bench {
namespace {

constexpr int kOverlayRepetitions = 20;

Result<rootfs::OverlayLayers> make_layers(const std::string& dir, int depth) {
    rootfs::OverlayLayers layers;
    for (int i = 0; i < depth; ++i) {
        std::string layer = fmt::format("{}/l{}-{}", dir, depth, i);
        if (auto s = make_dirs(layer); !s) return fail(s.error());
        if (auto s = write_file(layer + fmt::format("/file{}", i), "x"); !s) return fail(s.error());
        layers.lower.push_back(layer);
    }
    layers.upper = fmt::format("{}/upper{}", dir, depth);
    layers.work = fmt::format("{}/work{}", dir, depth);
    for (const auto& d : {layers.upper, layers.work, fmt::format("{}/merged{}", dir, depth)})
        if (auto s = make_dirs(d); !s) return fail(s.error());
    return layers;
}

Status mount_umount(const rootfs::OverlayLayers& layers, const std::string& target) {
    if (auto s = rootfs::mount_overlay(layers, target); !s) return s;
    if (::umount2(target.c_str(), 0) != 0) return fail(sys_error("umount", target));
    return {};
}

Result<std::vector<report::BenchResult>> measure(const std::string& dir, int reps) {
    std::vector<report::BenchResult> out;
    for (int depth : {1, 2, 8, 32}) {
        auto layers = make_layers(dir, depth);
        if (!layers) return fail(layers.error());
        std::string target = fmt::format("{}/merged{}", dir, depth);
        std::string name = fmt::format("start.overlay/layers-{}", depth);
        auto samples = measure_ms(name, [&] { return mount_umount(*layers, target); }, reps);
        if (!samples) return fail(samples.error());
        out.push_back(make_result(name, *samples, {{"what", "mount + umount of overlayfs"}, {"lower_layers", depth}}));
        if (depth > 1) set_ratio(out.back(), out.front());
    }
    return out;
}

Result<std::vector<report::BenchResult>> overlay(const BenchContext& ctx) {
    int reps = ctx.repetitions > 0 ? ctx.repetitions : kOverlayRepetitions;
    if (::unshare(CLONE_NEWNS) != 0) return fail(sys_error("unshare", "mount namespace"));
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail(sys_error("make private", "/"));
    std::string dir = fmt::format("/run/ctbench/bench-overlay-{}", ::getpid());
    auto results = measure(dir, reps);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return results;
}

using K = Requirement::Kind;
CTB_BENCH("start.overlay", "overlay rootfs mount + umount against 1, 2, 8 and 32 lower layers",
          {{K::root, ""}, {K::overlay_feature, "redirect_dir"}}, overlay);

}  // namespace
}  // namespace ctb::bench

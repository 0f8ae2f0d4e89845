#include "runtime/rootfs/overlay_probe.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/child.hpp"
#include "common/files.hpp"

namespace ctb::overlay {
namespace {

const std::vector<std::string> kLayerDirs{"lower", "upper", "work", "merged"};

std::string make_layer_dirs(const std::string& base) {
    for (const auto& d : kLayerDirs)
        if (auto s = make_dirs(base + "/" + d); !s) return s.error().message();
    return {};
}

// Super options of the mount at `target`, from /proc/self/mountinfo.
std::string super_options_of(const std::string& target) {
    auto info = read_file("/proc/self/mountinfo");
    if (!info) return {};
    std::stringstream lines(*info);
    for (std::string line; std::getline(lines, line);) {
        std::stringstream fields(line);
        std::string f, mount_point;
        for (int i = 0; i < 5 && fields >> f; ++i) mount_point = f;
        if (mount_point != target) continue;
        std::size_t dash = line.find(" - ");
        return dash == std::string::npos ? std::string{} : line.substr(dash + 3);
    }
    return {};
}

// Mounts an overlay on fresh dirs under base with `extra` options and checks mountinfo kept them.
// separate_lower puts the lower layer on its own tmpfs: xino only matters (and the kernel only
// keeps it) when layers span filesystems.
Feature try_mount(const std::string& base, const std::string& extra, const std::string& shown_as,
                  bool separate_lower = false) {
    if (auto err = make_layer_dirs(base); !err.empty()) return Feature::no(err);
    std::string lower = base + "/lower";
    if (separate_lower && ::mount("tmpfs", lower.c_str(), "tmpfs", 0, "size=1m") != 0)
        return Feature::no(fmt::format("mount tmpfs on {}: {}", lower, errno_name(errno)));
    std::string opts = fmt::format("lowerdir={0}/lower,upperdir={0}/upper,workdir={0}/work", base);
    if (!extra.empty()) opts += "," + extra;
    std::string merged = base + "/merged";
    if (::mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()) != 0)
        return Feature::no(fmt::format("mount overlay -o {}: {}", extra.empty() ? "(defaults)" : extra,
                                       errno_name(errno)));
    std::string shown = super_options_of(merged);
    ::umount2(merged.c_str(), MNT_DETACH);
    if (!shown_as.empty() && shown.find(shown_as) == std::string::npos)
        return Feature::no(fmt::format("mount -o {} succeeded but the kernel fell back (mountinfo: {})", extra, shown));
    return Feature::yes(fmt::format("mounted with {}", extra.empty() ? "defaults" : extra));
}

// Body of the probe child: private mount namespace, then one mount per feature.
std::string probe_in_child(const std::string& scratch) {
    nlohmann::json out;
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        out["error"] = fmt::format("private mount namespace: {}", errno_name(errno));
        return out.dump();
    }
    out["filesystem"] = try_mount(scratch + "/plain", "", "");
    for (const auto& f : feature_options())
        out[f.name] = try_mount(scratch + "/" + f.name, f.mount_option, f.shown_as, f.name == "xino");
    return out.dump();
}

}  // namespace

const std::vector<FeatureOption>& feature_options() {
    static const std::vector<FeatureOption> options{
        {"redirect_dir", "redirect_dir=on", "redirect_dir=on"},
        {"index", "index=on", "index=on"},
        {"metacopy", "metacopy=on", "metacopy=on"},
        {"xino", "xino=on", "xino=on"},
        {"volatile", "volatile", "volatile"},
        {"userxattr", "userxattr", "userxattr"},
    };
    return options;
}

OverlayProbe probe(const std::string& scratch_parent) {
    OverlayProbe result;
    std::string scratch = fmt::format("{}/probe-overlay-{}", scratch_parent, ::getpid());
    if (auto s = make_dirs(scratch); !s) {
        result.filesystem = Feature::no(s.error().message());
        return result;
    }
    auto child = run_in_child([&] { return probe_in_child(scratch); });
    std::error_code ignored;
    std::filesystem::remove_all(scratch, ignored);  // the mounts died with the child's namespace
    if (!child) {
        result.filesystem = Feature::no(child.error().message());
        return result;
    }
    auto json = nlohmann::json::parse(*child);
    if (json.contains("error")) {
        result.filesystem = Feature::no(json["error"].get<std::string>());
        return result;
    }
    result.filesystem = json["filesystem"].get<Feature>();
    for (const auto& f : feature_options()) result.features.emplace_back(f.name, json[f.name].get<Feature>());
    return result;
}

}  // namespace ctb::overlay

// Manager::create/open: check the path against the naming rule, then pick the backend that
// matches the host's layout. The backends never see an unchecked path.
#include "runtime/cgroups/manager.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "runtime/cgroups/cgfs.hpp"
#include "runtime/cgroups/hybrid.hpp"
#include "runtime/cgroups/resources.hpp"
#include "runtime/cgroups/v1.hpp"
#include "runtime/cgroups/v2.hpp"

namespace ctb::cgroup {
namespace {

Error bad_path(const std::string& path, const std::string& why) {
    return plain_error("check cgroup path", fmt::format("relative_path \"{}\"", path),
                       why + "; expected ctbench/<id> or /ctbench/<id>");
}

template <class Backend>
Result<std::unique_ptr<Manager>> upcast(Result<std::unique_ptr<Backend>> made) {
    if (!made) return fail(made.error());
    return std::unique_ptr<Manager>(std::move(*made));
}

Result<std::unique_ptr<Manager>> no_cgroups(const std::string& relative) {
    return fail(plain_error("open cgroup", relative, "no cgroup hierarchy is mounted on this host"));
}

}  // namespace

namespace {

bool has_dot_component(const std::vector<std::string>& parts) {
    return std::any_of(parts.begin(), parts.end(), [](const std::string& c) { return c == "." || c == ".."; });
}

Result<std::vector<std::string>> plain_components(const std::string& path) {
    if (path.find(':') != std::string::npos)
        return fail(plain_error("check cgroup path", "\"" + path + "\"", "systemd slice:prefix:name paths are not supported"));
    auto parts = fs::components(path);
    if (has_dot_component(parts))
        return fail(plain_error("check cgroup path", "\"" + path + "\"", "\".\" and \"..\" are not allowed"));
    if (parts.empty()) return fail(plain_error("check cgroup path", "\"" + path + "\"", "names no cgroup"));
    return parts;
}

}  // namespace

Result<std::string> normalise_any_path(const std::string& path) {
    auto parts = plain_components(path);
    if (!parts) return fail(parts.error());
    std::string out = parts->front();
    for (std::size_t i = 1; i < parts->size(); ++i) out += "/" + (*parts)[i];
    return out;
}

Status remove_created_dirs(const Layout& layout, const std::vector<std::string>& dirs,
                           std::chrono::milliseconds deadline) {
    Deadline until(deadline);
    Status first;
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
        bool below_mount = false;
        for (const auto& h : layout.hierarchies) below_mount = below_mount || it->starts_with(h.mount + "/");
        if (!below_mount || it->find("/../") != std::string::npos) {
            if (first) first = fail(plain_error("remove cgroup", *it, "not below a cgroup mount of this host"));
            continue;
        }
        // A listed parent of another listed dir (the ctbench parent, say) may hold other
        // containers by now: one rmdir, no waiting; only the deepest ones are waited for.
        bool is_parent = std::any_of(dirs.begin(), dirs.end(), [&](const std::string& d) { return d.starts_with(*it + "/"); });
        if (is_parent) at::rmdir(*it);
        else if (auto ok = fs::remove_tree(*it, until); !ok && first) first = ok;
    }
    return first;
}

Result<std::string> normalise_path(const std::string& path) {
    if (path.find(':') != std::string::npos)
        return fail(bad_path(path, "systemd slice:prefix:name paths are not supported"));
    auto parts = fs::components(path);  // the absolute OCI form's leading '/' gives no component
    if (has_dot_component(parts)) return fail(bad_path(path, "\".\" and \"..\" are not allowed"));
    if (parts.size() < 2 || parts.front() != kParentName)
        return fail(bad_path(path, fmt::format("must be below {}/", kParentName)));
    std::string out = parts.front();
    for (std::size_t i = 1; i < parts.size(); ++i) out += "/" + parts[i];
    return out;
}

std::optional<std::string> missing_controller_of(const Error& error) {
    const std::string prefix = kMissingPrefix;
    if (error.err != 0 || !error.detail.starts_with(prefix)) return std::nullopt;
    auto end = error.detail.find(kMissingSuffix, prefix.size());
    if (end == std::string::npos) return std::nullopt;
    return error.detail.substr(prefix.size(), end - prefix.size());
}

Result<std::unique_ptr<Manager>> Manager::create(const Layout& layout, const std::string& relative_path,
                                                 const Policy& policy) {
    auto relative = policy.any_path ? normalise_any_path(relative_path) : normalise_path(relative_path);
    if (!relative) return fail(relative.error());
    bool existing = policy.existing_leaf_ok;
    switch (layout.mode) {
        case Mode::v1: return upcast(V1Manager::create(layout, *relative, existing));
        case Mode::v2: return upcast(V2Manager::create(*layout.v2(), *relative, true, existing));
        case Mode::hybrid: return upcast(HybridManager::create(layout, *relative, existing));
        case Mode::none: break;
    }
    return no_cgroups(*relative);
}

Result<std::unique_ptr<Manager>> Manager::open(const Layout& layout, const std::string& relative_path,
                                               const Policy& policy) {
    auto relative = policy.any_path ? normalise_any_path(relative_path) : normalise_path(relative_path);
    if (!relative) return fail(relative.error());
    switch (layout.mode) {
        case Mode::v1: return upcast(V1Manager::open(layout, *relative));
        case Mode::v2: return upcast(V2Manager::open(*layout.v2(), *relative, true));
        case Mode::hybrid: return upcast(HybridManager::open(layout, *relative));
        case Mode::none: break;
    }
    return no_cgroups(*relative);
}

}  // namespace ctb::cgroup

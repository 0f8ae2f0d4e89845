// Manager::create/open: check the path against the naming rule, then pick the backend that
// matches the host's layout. The backends never see an unchecked path.
#include "runtime/cgroups/manager.hpp"

#include <fmt/format.h>

#include <sstream>

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

Result<std::string> normalise_path(const std::string& path) {
    if (path.find(':') != std::string::npos)
        return fail(bad_path(path, "systemd slice:prefix:name paths are not supported"));
    std::vector<std::string> parts;
    std::istringstream in(path);
    for (std::string c; std::getline(in, c, '/');) {
        if (c.empty()) continue;  // leading '/' (absolute OCI form), doubled or trailing '/'
        if (c == "." || c == "..") return fail(bad_path(path, "\".\" and \"..\" are not allowed"));
        parts.push_back(c);
    }
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

Result<std::unique_ptr<Manager>> Manager::create(const Layout& layout, const std::string& relative_path) {
    auto relative = normalise_path(relative_path);
    if (!relative) return fail(relative.error());
    switch (layout.mode) {
        case Mode::v1: return upcast(V1Manager::create(layout, *relative));
        case Mode::v2: return upcast(V2Manager::create(*layout.v2(), *relative, true));
        case Mode::hybrid: return upcast(HybridManager::create(layout, *relative));
        case Mode::none: break;
    }
    return no_cgroups(*relative);
}

Result<std::unique_ptr<Manager>> Manager::open(const Layout& layout, const std::string& relative_path) {
    auto relative = normalise_path(relative_path);
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

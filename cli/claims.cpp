#include "cli/claims.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "common/files.hpp"
#include "runtime/cgroups/detect.hpp"
#include "runtime/network/store.hpp"
#include "runtime/ownership.hpp"
#include "runtime/rootfs/volumes.hpp"

namespace ctb::cli {
namespace {

namespace fs = std::filesystem;

bool at_or_below(const std::string& p, const std::string& base) {
    return p == base || (p.size() > base.size() && p.starts_with(base) && p[base.size()] == '/');
}
bool strictly_above(const std::string& p, const std::string& below) {
    return below.size() > p.size() && below.starts_with(p) && below[p.size()] == '/';
}

// The cgroup dirs a container lives in and made, on every hierarchy.
std::vector<std::string> cgroup_dirs(const nlohmann::json& j, const std::vector<std::string>& mounts) {
    std::vector<std::string> dirs;
    std::string rel = j.value("cgroupPath", "");
    while (rel.starts_with("/")) rel.erase(0, 1);
    if (!rel.empty())
        for (const auto& m : mounts) dirs.push_back(m + "/" + rel);
    if (j.contains("cgroupCreated") && j["cgroupCreated"].is_array())
        for (const auto& d : j["cgroupCreated"])
            if (d.is_string()) dirs.push_back(d.get<std::string>());
    return dirs;
}

// One state dir: a user's container is claimed, a run's becomes a record to release.
void add_container(const fs::path& dir, const std::vector<std::string>& mounts, Claims& c) {
    nlohmann::json j;
    // The runtime overwrites state.json in place; a reader racing it sees a mix: read again.
    for (int attempt = 0; attempt < 5; ++attempt) {
        auto text = read_file((dir / "state.json").string());
        if (!text) return;  // gone meanwhile
        j = nlohmann::json::parse(*text, nullptr, false);
        if (!j.is_discarded()) break;
        ::usleep(2000);
    }
    std::string id = dir.filename();
    if (j.is_discarded() || !j.is_object()) {
        // Unreadable: it cannot be shown to be a run's, so it is kept (doctor --cleanup --all removes it).
        c.paths.push_back(dir);
        c.owners.push_back("container " + id + " (" + dir.string() + ", unreadable state)");
        return;
    }
    // Another runtime's state (runc's has no cgroupPath): the suite's OCI adapter made its root.
    if (!j.contains("cgroupPath")) return;
    auto cgroups = cgroup_dirs(j, mounts);
    std::string owner = j.value(kOwnerField, "");
    if (!owner.empty()) {
        std::vector<std::string> made;
        if (j.contains("cgroupCreated") && j["cgroupCreated"].is_array())
            for (const auto& d : j["cgroupCreated"])
                if (d.is_string()) made.push_back(d.get<std::string>());
        c.run_records.push_back({"container", id, dir.string(), made});
        return;
    }
    c.paths.push_back(dir);
    c.cgroups.insert(c.cgroups.end(), cgroups.begin(), cgroups.end());
    c.owners.push_back("container " + id + " (" + dir.string() + ")");
}

// State dirs are <root>/<id> with a state.json; roots sit up to two levels below the state root
// (/run/ctbench/runtime, /run/ctbench/conformance/ctbench). The engine's own stores are not roots.
void scan_states(const fs::path& dir, int depth, const std::vector<std::string>& mounts, Claims& c) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (!e.is_directory(ec) || e.is_symlink(ec)) continue;
        std::string p = e.path().string();
        if (p == net::store::kNetworksDir || p == net::store::kNetnsDir || p == rootfs::kDefaultVolumeRoot) continue;
        if (fs::exists(e.path() / "state.json", ec)) add_container(e.path(), mounts, c);
        else if (depth < 3) scan_states(e.path(), depth + 1, mounts, c);
    }
}

void add_network_store(Claims& c) {
    if (!net::store::store_exists()) return;
    auto endpoints = net::store::load_endpoints();
    auto networks = net::store::load_networks();
    if (!endpoints || !networks) {
        // A store we cannot read cannot be shown to be a run's alone: keep all of it.
        c.paths.push_back(net::store::kNetworksDir);
        c.paths.push_back(net::store::kNetnsDir);
        c.network_store = true;
        c.owners.push_back(std::string("network store ") + net::store::kNetworksDir + " (unreadable)");
        return;
    }
    std::set<std::string> used;  // networks users' endpoints are on
    for (const auto& a : *endpoints) {
        if (!a.owner.empty()) {
            c.run_records.push_back({"endpoint", a.container_id, "", {}});
            continue;
        }
        for (const auto& p : {a.netns_path, a.hosts_file, a.resolv_file, net::store::endpoint_file(a.container_id)})
            if (!p.empty()) c.paths.push_back(p);
        for (const auto& l : {a.host_link, a.bridge})
            if (!l.empty()) c.links.push_back(l);
        for (const auto& proxy : a.proxies) c.pids.push_back(proxy.pid);
        used.insert(a.network);
        c.network_store = true;
        c.owners.push_back("endpoint " + a.container_id + " (network " + a.network + ")");
    }
    for (const auto& n : *networks) {
        bool users = (n.owner.empty() && !n.builtin) || used.contains(n.name);
        if (!users) {
            // The default network goes with its last endpoint; a run's own network is removed.
            if (!n.builtin) c.run_records.push_back({"network", n.name, "", {}});
            continue;
        }
        c.paths.push_back(net::store::network_file(n.name));
        c.links.push_back(n.bridge);
        c.network_store = true;
        c.owners.push_back("network " + n.name);
    }
    if (c.network_store) c.paths.push_back(std::string(net::store::kNetworksDir) + "/.lock");
}

void add_volumes(Claims& c) {
    auto names = rootfs::list_volumes();
    if (!names) return;
    for (const auto& name : *names) {
        std::string dir = std::string(rootfs::kDefaultVolumeRoot) + "/" + name;
        if (::access((dir + "/" + kOwnerField).c_str(), F_OK) == 0) {
            c.run_records.push_back({"volume", name, "", {}});
            continue;
        }
        c.paths.push_back(dir);
        c.owners.push_back("volume " + name);
    }
}

}  // namespace

bool Claims::covers(const std::string& p) const {
    return std::any_of(paths.begin(), paths.end(), [&](const auto& c) { return at_or_below(p, c); });
}
bool Claims::leads_to(const std::string& p) const {
    return std::any_of(paths.begin(), paths.end(), [&](const auto& c) { return strictly_above(p, c); });
}
bool Claims::covers_cgroup(const std::string& dir) const {
    return std::any_of(cgroups.begin(), cgroups.end(), [&](const auto& c) { return at_or_below(dir, c); });
}
bool Claims::leads_to_cgroup(const std::string& dir) const {
    return std::any_of(cgroups.begin(), cgroups.end(), [&](const auto& c) { return strictly_above(dir, c); });
}
bool Claims::claims_link(const std::string& name) const {
    return std::find(links.begin(), links.end(), name) != links.end();
}
bool Claims::claims_pid(pid_t pid) const { return std::find(pids.begin(), pids.end(), pid) != pids.end(); }

Claims find_claims(const std::string& state_root) {
    Claims c;
    std::vector<std::string> mounts;
    if (auto layout = cgroup::detect())
        for (const auto& h : layout->hierarchies) mounts.push_back(h.mount);
    scan_states(state_root, 1, mounts, c);
    add_network_store(c);
    add_volumes(c);
    return c;
}

}  // namespace ctb::cli

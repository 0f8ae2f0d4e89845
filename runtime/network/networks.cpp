// Networks: create, list, remove, and the default network's lifecycle.
#include "runtime/network/networks.hpp"

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/network/ipam.hpp"
#include "runtime/network/links.hpp"
#include "runtime/network/ruleset.hpp"
#include "runtime/network/store.hpp"
#include "runtime/ownership.hpp"

namespace ctb::net {
namespace networks {

Network default_network() {
    Network n;
    n.name = kDefaultNetwork;
    n.bridge = links::bridge_name(n.name, true);
    n.subnet4 = ipam::kDefaultSubnet4;
    n.gateway4 = "198.18.0.1";
    n.proxy = ProxyMode::nat;
    n.builtin = true;
    return n;
}

Result<Network> open_for_attach(const std::string& name) {
    auto loaded = store::load_network(name);
    if (!loaded) return fail(loaded.error());
    Network n;
    if (*loaded) {
        n = **loaded;
    } else if (name == kDefaultNetwork) {
        n = default_network();
        // Saved before the bridge exists, so a SIGKILL right after leaves a record that the
        // next detach or `network rm` can clean up, never an unrecorded link.
        if (auto s = store::save_network(n); !s) return fail(s.error());
    } else {
        return fail(plain_error("attach to network", name, "no such network (see `ctbench-runtime network ls`)"));
    }
    if (auto s = links::ensure_bridge(n); !s) return fail(s.error());
    return n;
}

Status drop_default_if_unused(const std::vector<Attachment>& endpoints) {
    auto n = store::load_network(kDefaultNetwork);
    if (!n) return fail(n.error());
    if (!*n || !(*n)->leases.empty()) return {};
    bool used = std::any_of(endpoints.begin(), endpoints.end(), [](const Attachment& e) { return e.network == kDefaultNetwork; });
    if (used) return {};
    if (auto s = links::remove_bridge((*n)->bridge); !s) return s;
    return store::remove_network_file(kDefaultNetwork);
}

Status sync_rules() {
    auto all = store::load_networks();
    if (!all) return fail(all.error());
    auto endpoints = store::load_endpoints();
    if (!endpoints) return fail(endpoints.error());
    return rules::sync(*all, *endpoints);
}

}  // namespace networks

namespace {

// Creation after the record is saved: the bridge and the rules. Undone on failure.
Status build_network(const Network& n) {
    if (auto s = links::ensure_bridge(n); !s) return s;
    return networks::sync_rules();
}

std::vector<std::string> users_of(const std::string& name, const std::vector<Attachment>& endpoints) {
    std::vector<std::string> ids;
    for (const auto& e : endpoints)
        if (e.network == name) ids.push_back(e.container_id);
    return ids;
}

}  // namespace

Result<Network> create_network(const NetworkOptions& o) {
    if (auto v = store::validate_network_name(o.name); !v) return fail(v.error());
    if (o.name == kDefaultNetwork)
        return fail(plain_error("create network", o.name, "is the default network's name"));
    auto lock = store::Lock::acquire();
    if (!lock) return fail(lock.error());
    auto existing = store::load_networks();
    if (!existing) return fail(existing.error());
    for (const auto& n : *existing)
        if (n.name == o.name) return fail(sys_error("create network", o.name, EEXIST));
    Network n;
    n.name = o.name;
    n.bridge = links::bridge_name(o.name, false);
    n.proxy = o.proxy;
    n.owner = current_owner();
    if (auto s = ipam::assign_subnets(n, o, *existing, ipam::host_addresses4()); !s) {
        lock->remove_store_if_empty();
        return fail(s.error());
    }
    if (auto s = store::save_network(n); !s) return fail(s.error());
    if (auto s = build_network(n); !s) {
        (void)links::remove_bridge(n.bridge);
        (void)store::remove_network_file(n.name);
        (void)networks::sync_rules();
        lock->remove_store_if_empty();
        return fail(s.error());
    }
    return n;
}

Result<std::vector<Network>> list_networks() {
    if (!store::store_exists()) return std::vector<Network>{};
    auto lock = store::Lock::acquire();
    if (!lock) return fail(lock.error());
    return store::load_networks();
}

Status remove_network(const std::string& name, bool missing_ok) {
    if (auto v = store::validate_network_name(name); !v) return v;
    if (!store::store_exists()) return missing_ok ? Status{} : fail(sys_error("remove network", name, ENOENT));
    auto lock = store::Lock::acquire();
    if (!lock) return fail(lock.error());
    auto n = store::load_network(name);
    if (!n) return fail(n.error());
    if (!*n) {
        lock->remove_store_if_empty();
        return missing_ok ? Status{} : fail(sys_error("remove network", name, ENOENT));
    }
    auto endpoints = store::load_endpoints();
    if (!endpoints) return fail(endpoints.error());
    auto users = users_of(name, *endpoints);
    if (!users.empty())
        return fail(plain_error("remove network", name,
                                fmt::format("has active endpoints ({}); delete those containers first",
                                            fmt::join(users, ", "))));
    if (auto s = links::remove_bridge((*n)->bridge); !s) return s;
    if (auto s = store::remove_network_file(name); !s) return s;
    auto synced = networks::sync_rules();
    lock->remove_store_if_empty();
    return synced;
}

}  // namespace ctb::net

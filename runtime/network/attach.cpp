// attach / detach: the life of one container's network (see engine.hpp).
//
// attach runs in three phases so that the store lock is held only for decisions, not for the
// slow netlink work, and concurrent starts still get distinct addresses and ports:
//   1 (locked)   pick the network, lease addresses, reserve host ports (binding them), and save
//                the endpoint record, incomplete. From here on, detach() can undo everything,
//                also from another process after a SIGKILL.
//   2 (unlocked) network namespace + pin, veth pair, addresses, routes, hosts/resolv files.
//   3 (locked)   userland proxies, nft rules re-rendered from the store, peers' hosts files,
//                the record marked complete. The reserved sockets close only now (NAT mode), so
//                no other program can take a port between the check and the DNAT rule.
#include <algorithm>
#include <cerrno>
#include <fmt/format.h>

#include "runtime/network/engine.hpp"
#include "runtime/network/hosts.hpp"
#include "runtime/network/ipam.hpp"
#include "runtime/network/links.hpp"
#include "runtime/network/networks.hpp"
#include "runtime/network/ports.hpp"
#include "runtime/network/proxy.hpp"
#include "runtime/network/store.hpp"
#include "runtime/ownership.hpp"

namespace ctb::net {
namespace {

std::string bare(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

Attachment base_attachment(const AttachRequest& rq) {
    Attachment a;
    a.container_id = rq.container_id;
    a.owner = current_owner();
    a.network = rq.network;
    a.mode = rq.network == "none" || rq.network == "host" ? rq.network : "bridge";
    a.hostname = rq.hostname.empty() ? rq.container_id : rq.hostname;
    a.names = hosts::names_of(rq, a.hostname);
    if (a.mode != "host") {
        a.netns_path = store::netns_pin(rq.container_id);
        a.hosts_file = store::hosts_file(rq.container_id);
        a.resolv_file = store::resolv_file(rq.container_id);
    }
    bool wants_ports = !rq.publish.empty() || rq.publish_all;
    if (a.mode != "bridge" && wants_ports)
        a.notes.push_back(fmt::format("published ports are ignored with --network {}", a.mode));
    return a;
}

std::vector<PortMapping> all_ports(const std::vector<Attachment>& endpoints) {
    std::vector<PortMapping> out;
    for (const auto& e : endpoints) out.insert(out.end(), e.ports.begin(), e.ports.end());
    return out;
}

// Phase 1 for a bridge network: network, lease, ports. Nothing is saved unless all succeed.
Status plan_bridge(const AttachRequest& rq, Attachment& a, std::vector<portmap::Reserved>& reserved) {
    auto net = networks::open_for_attach(rq.network);
    if (!net) return fail(net.error());
    auto lease = ipam::lease(*net, rq.container_id);
    if (!lease) return fail(lease.error());
    a.bridge = net->bridge;
    a.host_link = links::veth_name(rq.container_id);
    a.address4 = lease->address4;
    a.address6 = lease->address6;
    a.gateway4 = net->gateway4;
    a.gateway6 = net->subnet6.empty() ? "" : net->gateway6;
    a.proxy = net->proxy;
    auto endpoints = store::load_endpoints();
    if (!endpoints) return fail(endpoints.error());
    portmap::Target target{bare(a.address4), bare(a.address6), a.proxy};
    auto got = portmap::reserve(rq.publish, rq.expose, rq.publish_all, target, all_ports(*endpoints));
    if (!got) return fail(got.error());
    for (const auto& r : *got) a.ports.push_back(r.mapping);
    reserved = std::move(*got);
    // The endpoint first: if we die between the two writes, detach still finds the lease by id.
    if (auto s = store::save_endpoint(a); !s) return s;
    return store::save_network(*net);
}

Status plan(const AttachRequest& rq, Attachment& a, std::vector<portmap::Reserved>& reserved) {
    auto lock = store::Lock::acquire();
    if (!lock) return fail(lock.error());
    auto existing = store::load_endpoint(rq.container_id);
    if (!existing) return fail(existing.error());
    if (*existing)
        return fail(plain_error("attach container", rq.container_id,
                                "is already attached to network " + (*existing)->network));
    Status planned = a.mode == "bridge" ? plan_bridge(rq, a, reserved) : store::save_endpoint(a);
    if (!planned) {
        // Nothing half-configured: no record (any record of this id is ours, checked above), no
        // default bridge created just for us, no empty store.
        (void)store::remove_endpoint_files(rq.container_id);
        if (auto endpoints = store::load_endpoints()) (void)networks::drop_default_if_unused(*endpoints);
        lock->remove_store_if_empty();
    }
    return planned;
}

Status build(const Attachment& a) {
    if (a.mode == "host") return {};
    if (auto s = links::create_pinned_netns(a.netns_path); !s) return s;
    if (a.mode == "bridge")
        if (auto s = links::wire_container(a); !s) return s;
    return hosts::write_files(a, {});
}

Status finish(Attachment& a, std::vector<portmap::Reserved>& reserved) {
    auto lock = store::Lock::acquire();
    if (!lock) return fail(lock.error());
    if (a.proxy == ProxyMode::userland && !reserved.empty()) {
        auto p = proxy::spawn(reserved);
        if (!p) return fail(p.error());
        a.proxies.push_back(*p);
    }
    a.complete = true;
    if (auto s = store::save_endpoint(a); !s) return s;
    if (a.mode != "bridge") return {};
    if (auto s = networks::sync_rules(); !s) return s;
    auto net = store::load_network(a.network);
    if (!net) return fail(net.error());
    if (!*net || (*net)->builtin) return {};  // the default network lists no peers
    auto endpoints = store::load_endpoints();
    if (!endpoints) return fail(endpoints.error());
    return hosts::refresh_network(a.network, *endpoints);
}

// Detach steps keep going after a failure (so one broken object does not strand the others)
// and report the first error.
struct FirstError {
    Status result;
    void operator()(Status s) {
        if (!s && result) result = std::move(s);
    }
};

void release_leases(const std::string& id, FirstError& err) {
    auto all = store::load_networks();
    if (!all) return err(fail(all.error()));
    for (auto& n : *all)
        if (ipam::release(n, id)) err(store::save_network(n));
}

void remove_objects(const std::string& id, const std::optional<Attachment>& a, FirstError& err) {
    if (a)
        for (const auto& p : a->proxies) err(proxy::stop(p));
    // The link name derives from the id, so a half-built attachment is found even without a record.
    err(links::remove_bridge(links::veth_name(id)));
    err(links::remove_pin(store::netns_pin(id)));
}

}  // namespace

Result<Attachment> attach(const AttachRequest& rq) {
    if (rq.network != "none" && rq.network != "host")
        if (auto v = store::validate_network_name(rq.network); !v) return fail(v.error());
    Attachment a = base_attachment(rq);
    std::vector<portmap::Reserved> reserved;
    if (auto s = plan(rq, a, reserved); !s) return fail(s.error());
    Status built = build(a);
    if (built) built = finish(a, reserved);
    if (!built) {
        reserved.clear();  // our sockets must not make the cleanup's port checks fail
        (void)detach(rq.container_id);
        return fail(built.error());
    }
    return a;
}

Status detach(const std::string& id) {
    if (auto v = store::load_endpoint(id); !v) return fail(v.error());  // validates the id
    if (!store::store_exists()) return links::remove_pin(store::netns_pin(id));
    auto lock = store::Lock::acquire();
    if (!lock) return fail(lock.error());
    FirstError err;
    auto record = store::load_endpoint(id);
    std::optional<Attachment> a = record ? *record : std::nullopt;
    remove_objects(id, a, err);
    release_leases(id, err);
    err(store::remove_endpoint_files(id));
    auto endpoints = store::load_endpoints();
    if (!endpoints) return fail(endpoints.error());
    if (a && a->mode == "bridge" && a->network != kDefaultNetwork) err(hosts::refresh_network(a->network, *endpoints));
    err(networks::drop_default_if_unused(*endpoints));
    err(networks::sync_rules());
    lock->remove_store_if_empty();
    return err.result;
}

Result<Attachment> attachment(const std::string& id) {
    if (!store::store_exists()) return fail(sys_error("network attachment of container", id, ENOENT));
    auto a = store::load_endpoint(id);
    if (!a) return fail(a.error());
    if (!*a) return fail(sys_error("network attachment of container", id, ENOENT));
    return **a;
}

Result<std::vector<PortMapping>> ports(const std::string& id) {
    auto a = attachment(id);
    if (!a) return fail(a.error());
    return a->ports;
}

}  // namespace ctb::net

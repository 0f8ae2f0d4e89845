// Network namespaces: a new one holds only loopback; a device moved into it leaves the host; its
// /proc/net and /sys/class/net show its own devices; the same port binds in two of them at once.
#include <algorithm>
#include <fmt/format.h>

#include "conformance/ns/support.hpp"
#include "runtime/network/rtnl.hpp"

namespace ctb::conformance::nscase {
namespace {

using namespace std::chrono_literals;

constexpr const char* kNetRef = "network_namespaces(7); OCI runtime-spec config-linux.md#namespaces";

std::vector<Requirement> needs_veth() {
    auto r = container_needs();
    r.push_back({Requirement::Kind::network_feature, "veth"});
    return r;
}

// A veth pair on the host named ctbv<token>h / ctbv<token>c; deleting the host end on every path
// deletes both, wherever the other end went.
class VethPair {
public:
    explicit VethPair(const std::string& tag)
        : host_end_(fmt::format("ctb{}{}h", tag, short_token())),
          other_end_(fmt::format("ctb{}{}c", tag, short_token())) {
        auto rtnl = must(net::Rtnl::open(), "open rtnetlink");
        must(rtnl.create_veth(host_end_, other_end_), "create veth " + host_end_);
    }
    ~VethPair() {
        if (auto rtnl = net::Rtnl::open()) {
            (void)rtnl->delete_link(host_end_);
            (void)rtnl->delete_link(other_end_);
        }
    }
    const std::string& host_end() const { return host_end_; }
    const std::string& other_end() const { return other_end_; }
    void move_other_end_into(pid_t pid) {
        auto rtnl = must(net::Rtnl::open(), "open rtnetlink");
        auto fd = open_ns(pid, "net");
        must(rtnl.move_to_netns(other_end_, fd.get()), "move " + other_end_ + " into the container");
    }

private:
    std::string host_end_, other_end_;
};

// Interface names in a /proc/net/dev text (two header lines, then "  name: counters").
std::vector<std::string> proc_net_dev_names(const std::string& text) {
    std::vector<std::string> out;
    auto ls = lines(text);
    for (std::size_t i = 2; i < ls.size(); ++i) {
        auto colon = ls[i].find(':');
        if (colon == std::string::npos) continue;
        auto w = words(ls[i].substr(0, colon));
        if (!w.empty()) out.push_back(w[0]);
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

json host_views() {
    auto rtnl = must(net::Rtnl::open(), "open rtnetlink");
    return {{"rtnetlink", must(rtnl.list_links(), "list links")},
            {"proc_net_dev", proc_net_dev_names(read_text("/proc/net/dev"))},
            {"sys_class_net", list_dir("/sys/class/net")}};
}

// The container's /proc/net/dev and /sys/class/net, read by a process exec'd inside it.
json container_views(RunningContainer& c) {
    auto out = must_exec(c, {"/bin/sh", "-c", "cat /proc/net/dev && echo --- && ls -1 /sys/class/net"});
    auto sep = out.out.find("---\n");
    if (out.status != 0 || sep == std::string::npos)
        setup_failed("read the container's views: " + out.out + out.err);
    auto sys = lines(out.out.substr(sep + 4));
    std::sort(sys.begin(), sys.end());
    return {{"proc_net_dev", proc_net_dev_names(out.out.substr(0, sep))}, {"sys_class_net", sys}};
}

std::vector<std::string> names_of(const json& interfaces) {
    std::vector<std::string> out;
    if (interfaces.is_array())
        for (const auto& i : interfaces) out.push_back(i.value("name", ""));
    std::sort(out.begin(), out.end());
    return out;
}

Verdict only_loopback(const CaseContext& ctx) {
    Containers cs(ctx);
    auto out = cs.run(agent({"info"}));
    json info = agent_json(out, "agent info");
    auto inside = names_of(info["interfaces"]);
    json host = host_views();
    json ev = {{"inside", inside},
               {"inside_interfaces", info["interfaces"]},
               {"host", host["rtnetlink"]},
               {"net_ns_inside", info["namespaces"]["net"]},
               {"net_ns_host", own_ns_inode("net")}};
    if (ev["net_ns_inside"] == ev["net_ns_host"])
        return Verdict::fail("the container shares the host's network namespace", ev);
    if (inside != std::vector<std::string>{"lo"})
        return Verdict::fail("the new network namespace has more than loopback", ev);
    return Verdict::pass(ev);
}

Verdict moved_device_vanishes_from_host(const CaseContext& ctx) {
    Containers cs(ctx);
    auto c = cs.start(agent({"sleep", "30"}));
    VethPair veth("v");
    json host_before = host_views();
    auto names_before = host_before["rtnetlink"].get<std::vector<std::string>>();
    if (!has(names_before, veth.other_end())) setup_failed("the new veth end is not on the host");
    veth.move_other_end_into(c->pid());
    json host_after = host_views();
    auto rtnl = must(net::Rtnl::open(), "open rtnetlink");
    auto lookup = rtnl.link_index(veth.other_end());
    json info = agent_json(must_exec(*c, {kAgent, "info"}), "agent info");
    auto inside = names_of(info["interfaces"]);
    json ev = {{"moved", veth.other_end()},
               {"peer_left_on_host", veth.host_end()},
               {"host_lookup_after_move", lookup ? std::string("found") : lookup.error().message()},
               {"host_after", host_after},
               {"inside", inside}};
    for (const char* view : {"rtnetlink", "proc_net_dev", "sys_class_net"})
        if (has(host_after[view].get<std::vector<std::string>>(), veth.other_end()))
            return Verdict::fail(fmt::format("the moved device is still in the host's {}", view), ev);
    if (lookup) return Verdict::fail("the moved device still resolves by name on the host", ev);
    if (!has(host_after["rtnetlink"].get<std::vector<std::string>>(), veth.host_end()))
        return Verdict::fail("the peer that stayed behind vanished from the host", ev);
    if (!has(inside, veth.other_end()))
        return Verdict::fail("the moved device did not appear inside the container", ev);
    return Verdict::pass(ev);
}

Verdict proc_sys_net_views_isolated(const CaseContext& ctx) {
    Containers cs(ctx);
    auto c = cs.start(agent({"sleep", "30"}));
    VethPair veth("w");
    json host = host_views();
    json before = container_views(*c);
    veth.move_other_end_into(c->pid());
    json after = container_views(*c);
    json host_after = host_views();
    json ev = {{"host_before_move", host},
               {"container_before_move", before},
               {"moved", veth.other_end()},
               {"container_after_move", after},
               {"host_after_move", host_after}};
    for (const char* view : {"proc_net_dev", "sys_class_net"}) {
        auto h = host[view].get<std::vector<std::string>>();
        if (!has(h, veth.host_end()) || !has(h, veth.other_end()))
            setup_failed(fmt::format("the host's {} does not list the new veth pair", view));
        if (before[view] != json::array({"lo"}))
            return Verdict::fail(fmt::format("the container's {} does not show only its own loopback", view), ev);
        if (after[view] != json(std::vector<std::string>{veth.other_end(), "lo"}) &&
            after[view] != json(std::vector<std::string>{"lo", veth.other_end()}))
            return Verdict::fail(
                fmt::format("the container's {} does not follow its namespace (moved device missing)", view), ev);
        if (has(host_after[view].get<std::vector<std::string>>(), veth.other_end()))
            return Verdict::fail(fmt::format("the host's {} still lists the moved device", view), ev);
    }
    return Verdict::pass(ev);
}

Verdict same_port_two_namespaces(const CaseContext& ctx) {
    Containers cs(ctx);
    spec::Spec s = agent({"tcp-echo-server", "18080"});
    add_capabilities(s, {"CAP_NET_ADMIN"});  // to bring loopback up, should the runtime leave it down
    auto a = cs.start(s);
    auto b = cs.start(s);
    bool a_up = wait_for_output(*a, "\"listening\"", 10s);
    bool b_up = wait_for_output(*b, "\"listening\"", 10s);
    json ev = {{"server_a", output_so_far(*a)}, {"server_b", output_so_far(*b)}};
    if (!a_up || !b_up) {
        std::string both = ev.dump();
        if (contains(both, "EADDRINUSE")) return Verdict::fail("the second namespace could not bind the same port", ev);
        setup_failed("an echo server never listened: " + both);
    }
    // Each answers inside its own namespace, over its own loopback.
    for (auto* c : {a.get(), b.get()})
        if (auto up = must_exec(*c, {"/bin/ip", "link", "set", "lo", "up"}); up.status != 0)
            setup_failed("bring loopback up: " + up.out + up.err);
    json ra =
        agent_json(must_exec(*a, {kAgent, "tcp-client", "127.0.0.1", "18080", "from-a"}), "tcp-client");
    json rb =
        agent_json(must_exec(*b, {kAgent, "tcp-client", "127.0.0.1", "18080", "from-b"}), "tcp-client");
    ev["client_a"] = ra;
    ev["client_b"] = rb;
    ev["net_ns"] = {ns_inode_of(a->pid(), "net"), ns_inode_of(b->pid(), "net")};
    if (ev["net_ns"][0] == ev["net_ns"][1]) return Verdict::fail("the two containers share a network namespace", ev);
    if (ra.value("ok", false) != true || rb.value("ok", false) != true)
        return Verdict::fail("a server bound in its namespace did not answer there", ev);
    return Verdict::pass(ev);
}

CTB_CONFORMANCE_CASE({
    .id = "ns.net.only_loopback",
    .reference = kNetRef,
    .needs = container_needs(),
    .body = only_loopback,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.net.moved_device_vanishes_from_host",
    .reference = kNetRef,
    .needs = needs_veth(),
    .body = moved_device_vanishes_from_host,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.net.proc_sys_net_views_isolated",
    .reference = "network_namespaces(7); proc(5) /proc/net; sysfs(5)",
    .needs = needs_veth(),
    .body = proc_sys_net_views_isolated,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.net.same_port_two_namespaces",
    .reference = kNetRef,
    .needs = container_needs(),
    .body = same_port_two_namespaces,
});

}  // namespace
}  // namespace ctb::conformance::nscase

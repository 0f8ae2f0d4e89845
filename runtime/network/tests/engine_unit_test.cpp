// Unit tests of the network engine's pure parts: -p/--expose parsing, IPAM decisions, the nft
// rules rendered for a store, and generated hosts/resolv.conf files. No root, no host changes.
#include <gtest/gtest.h>

#include "runtime/network/engine.hpp"
#include "runtime/network/hosts.hpp"
#include "runtime/network/ipam.hpp"
#include "runtime/network/links.hpp"
#include "runtime/network/networks.hpp"
#include "runtime/network/ruleset.hpp"

using namespace ctb;
using namespace ctb::net;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(PortSpec, ParsesDockerForms) {
    auto p = parse_publish("8080:80");
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->host_ip, "");
    EXPECT_EQ(p->host.first, 8080);
    EXPECT_EQ(p->container.first, 80);
    EXPECT_EQ(p->protocol, "tcp");

    p = parse_publish("127.0.0.1:8080:80/udp");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->host_ip, "127.0.0.1");
    EXPECT_EQ(p->protocol, "udp");

    p = parse_publish("[::0001]:8080:80");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->host_ip, "::1");

    p = parse_publish("127.0.0.1::80");
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->host.given());

    p = parse_publish("8000-8002:80-82");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->host.size(), 3u);
    EXPECT_EQ(p->container.last, 82);

    p = parse_publish("8000-8010:80");  // one container port, the first free host port of a range
    ASSERT_TRUE(p);
    EXPECT_EQ(p->host.size(), 11u);

    p = parse_publish("80");
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->host.given());

    auto e = parse_expose("7000-7001/udp");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->container.size(), 2u);
    EXPECT_EQ(e->protocol, "udp");
}

TEST(PortSpec, RejectsBadFormsNamingTheProblem) {
    for (auto [text, why] : {std::pair{"8080:80/sctp", "tcp or udp"}, {"0:80", "not a port"}, {"8080:70000", "not a port"},
                             {"::1:8080:80", "brackets"}, {"8000-8001:80-82", "same length"}, {"90-80", "ends before"},
                             {"host:8080:80", "not an IP"}, {"", "not a port"}}) {
        auto p = parse_publish(text);
        ASSERT_FALSE(p) << text;
        EXPECT_TRUE(has(p.error().message(), why)) << text << ": " << p.error().message();
    }
}

TEST(PortSpec, PrintsLikeDockerPort) {
    EXPECT_EQ(to_string(PortMapping{"tcp", "0.0.0.0", 8080, "198.18.0.2", 80}), "80/tcp -> 0.0.0.0:8080");
    EXPECT_EQ(to_string(PortMapping{"udp", "::", 8080, "2001:2::2", 80}), "80/udp -> [::]:8080");
}

TEST(Ipam, PicksFreeSubnetsInsideTheBenchmarkingRange) {
    std::vector<Network> existing{networks::default_network()};
    Network a;
    NetworkOptions o{.name = "a", .ipv6 = true};
    ASSERT_TRUE(ipam::assign_subnets(a, o, existing, {}));
    EXPECT_EQ(a.subnet4, "198.18.1.0/24");
    EXPECT_EQ(a.gateway4, "198.18.1.1");
    EXPECT_EQ(a.subnet6, "2001:2:0:1::/64");
    EXPECT_EQ(a.gateway6, "2001:2:0:1::1");
    existing.push_back(a);
    Network b;
    // A host address inside the next candidate pushes the choice further.
    ASSERT_TRUE(ipam::assign_subnets(b, {.name = "b"}, existing, {0xC6120205u /* 198.18.2.5 */}));
    EXPECT_EQ(b.subnet4, "198.18.3.0/24");
}

TEST(Ipam, RejectsSubnetsOutsideTheRangeOrOverlapping) {
    std::vector<Network> existing{networks::default_network()};
    Network n;
    for (auto [subnet, why] : {std::pair{"10.0.0.0/24", "inside 198.18.0.0/15"}, {"198.18.0.0/16", "default network"},
                               {"198.18.5.1/24", "host bits"}, {"198.18.9.0/30", "/16 to /29"}}) {
        auto s = ipam::assign_subnets(n, {.name = "x", .subnet = subnet}, existing, {});
        ASSERT_FALSE(s) << subnet;
        EXPECT_TRUE(has(s.error().message(), why)) << s.error().message();
    }
    auto s6 = ipam::assign_subnets(n, {.name = "x", .subnet = "198.19.0.0/24", .ipv6 = true, .subnet6 = "2001:db8::/64"},
                                   existing, {});
    ASSERT_FALSE(s6);
    EXPECT_TRUE(has(s6.error().message(), "2001:2::/48"));
}

TEST(Ipam, LeasesDistinctAddressesAndReleasesById) {
    Network n = networks::default_network();
    n.subnet6 = "2001:2::/64";
    auto a = ipam::lease(n, "a");
    auto b = ipam::lease(n, "b");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->address4, "198.18.0.2/24");
    EXPECT_EQ(b->address4, "198.18.0.3/24");
    EXPECT_EQ(b->address6, "2001:2::3/64");
    EXPECT_TRUE(ipam::release(n, "a"));
    EXPECT_FALSE(ipam::release(n, "a"));
    EXPECT_EQ(ipam::lease(n, "c")->address4, "198.18.0.2/24");  // reused after release

    Network tiny = n;
    tiny.subnet4 = "198.18.0.0/29";  // .2 .. .6
    tiny.leases.clear();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(ipam::lease(tiny, "c" + std::to_string(i)));
    auto full = ipam::lease(tiny, "c5");
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().err, EADDRNOTAVAIL);
}

TEST(Links, NamesFitTheKernelAndStartWithCtb) {
    EXPECT_EQ(links::bridge_name("bridge", true), "ctb0");
    for (const auto& name : {links::bridge_name("a-very-long-network-name-indeed", false),
                             links::veth_name("a-very-long-container-id-0123456789abcdef")}) {
        EXPECT_TRUE(name.starts_with("ctb")) << name;
        EXPECT_LE(name.size(), 15u) << name;
    }
    EXPECT_NE(links::veth_name("c1"), links::veth_name("c2"));
    EXPECT_EQ(links::veth_name("c1"), links::veth_name("c1"));  // another process derives the same
}

TEST(Rules, RenderedForOnePublishedPort) {
    Network n = networks::default_network();
    Attachment a;
    a.container_id = "web";
    a.mode = "bridge";
    a.network = n.name;
    a.ports = {{"tcp", "0.0.0.0", 8080, "198.18.0.2", 80}, {"tcp", "127.0.0.1", 8081, "198.18.0.2", 80}};
    std::string text = rules::render({n}, {a});
    EXPECT_TRUE(has(text, "add rule inet ctbench net_ports meta nfproto ipv4 tcp dport 8080 dnat ip to 198.18.0.2:80"))
        << text;
    EXPECT_TRUE(has(text, "net_ports_lo ip daddr 127.0.0.1 tcp dport 8081 dnat ip to 198.18.0.2:80")) << text;
    EXPECT_TRUE(has(text, "iifname != \"lo\" ip daddr 127.0.0.0/8 counter drop")) << text;
    EXPECT_TRUE(has(text, "net_dnat ip daddr 127.0.0.0/8 return")) << text;
    EXPECT_TRUE(has(text, "oifname \"ctb0\" ct status dnat ip saddr 198.18.0.0/24 masquerade")) << text;

    n.proxy = ProxyMode::userland;  // a proxy network needs no rules at all
    a.proxy = ProxyMode::userland;
    EXPECT_EQ(rules::render({n}, {a}), "");
}

TEST(Hosts, PeersOnlyWhereListedAndLoopbackNameserversDropped) {
    Attachment self, peer, elsewhere;
    self.container_id = "a";
    self.network = peer.network = "net1";
    elsewhere.network = "net2";
    self.address4 = "198.18.1.2/24";
    self.names = {"a"};
    peer.container_id = "b";
    peer.address4 = "198.18.1.3/24";
    peer.address6 = "2001:2:0:1::3/64";
    peer.names = {"b", "web"};
    elsewhere.container_id = "c";
    elsewhere.address4 = "198.18.2.2/24";
    auto peers = hosts::peers_of(self, {self, peer, elsewhere});
    ASSERT_EQ(peers.size(), 1u);
    std::string text = hosts::hosts_content(self, peers);
    EXPECT_TRUE(has(text, "198.18.1.2\ta\n")) << text;
    EXPECT_TRUE(has(text, "198.18.1.3\tb web\n")) << text;
    EXPECT_TRUE(has(text, "2001:2:0:1::3\tb web\n")) << text;
    EXPECT_FALSE(has(text, "198.18.2.2")) << text;
    std::string resolv = hosts::resolv_content("nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example\n");
    EXPECT_FALSE(has(resolv, "127.0.0.53"));
    EXPECT_TRUE(has(resolv, "nameserver 192.0.2.53\nsearch example\n"));
}

TEST(Spec, JoinsTheNamespaceAndBindsTheFiles) {
    spec::Spec s;
    s.linux.namespaces = {{"pid", ""}, {"network", ""}, {"uts", ""}, {"mount", ""}};
    Attachment a;
    a.container_id = "c";
    a.mode = "bridge";
    a.netns_path = "/run/ctbench/netns/c";
    a.hostname = "web";
    a.hosts_file = "/dev/null";  // any existing file: binds are only added for files that exist
    ASSERT_TRUE(apply_to_spec(a, s));
    EXPECT_EQ(s.linux.namespaces[1].path, "/run/ctbench/netns/c");
    EXPECT_EQ(s.hostname, "web");
    ASSERT_EQ(s.mounts.size(), 1u);
    EXPECT_EQ(s.mounts[0].destination, "/etc/hosts");

    a.mode = "host";
    ASSERT_TRUE(apply_to_spec(a, s));
    EXPECT_FALSE(s.has_namespace("network"));
}

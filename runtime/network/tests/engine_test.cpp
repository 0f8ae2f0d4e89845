// Integration tests of the network engine (root). "Containers" here are the engine's pinned
// network namespaces with ctbench-agent servers and clients run inside them (setns in a forked
// child), so these tests prove the network plumbing alone; network_cli_test.sh runs real
// containers through ctbench-runtime (name resolution inside busybox, delete, SIGKILL recovery).
// Every test removes what it created; the fixture checks that nothing of the engine is left.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "common/files.hpp"
#include "common/proc.hpp"
#include "netlab.hpp"
#include "runtime/network/engine.hpp"
#include "runtime/network/links.hpp"
#include "runtime/network/nft.hpp"
#include "runtime/network/rtnl.hpp"
#include "runtime/network/store.hpp"

using namespace ctb;
using namespace ctb::net;
using netlab::agent_in;

namespace {

std::string bare(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

// Alive and not a zombie (a killed proxy is init's to reap, whenever init gets to it).
bool running(pid_t pid) {
    auto st = read_proc_stat(pid);
    return st && !st->exited();
}

PortRequest publish(const std::string& text) {
    auto r = parse_publish(text);
    if (!r) throw std::runtime_error(r.error().message());
    return *r;
}

class Engine : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(store::store_exists()) << "another user of the network engine is active; refusing to run";
        remote_.up();
    }
    void TearDown() override {
        for (pid_t pid : servers_) netlab::stop_process(pid);
        for (const auto& id : ids_) EXPECT_TRUE(detach(id)) << id;
        for (const auto& n : networks_) EXPECT_TRUE(remove_network(n, true)) << n;
        remote_.down();
        EXPECT_EQ(netlab::engine_links(), std::vector<std::string>{});
        EXPECT_FALSE(std::filesystem::exists(store::kNetworksDir));
        EXPECT_FALSE(std::filesystem::exists(store::kNetnsDir));
        EXPECT_FALSE(netlab::nft_table_exists());
    }

    Attachment attach_ok(AttachRequest rq) {
        ids_.push_back(rq.container_id);
        auto a = attach(rq);
        if (!a) throw std::runtime_error(a.error().message());
        return *a;
    }
    void network(const std::string& name, ProxyMode proxy = ProxyMode::nat, bool ipv6 = false) {
        networks_.push_back(name);
        auto n = create_network({.name = name, .ipv6 = ipv6, .proxy = proxy});
        if (!n) throw std::runtime_error(n.error().message());
    }
    void serve(const Attachment& a, const std::string& kind, int port) {
        servers_.push_back(netlab::start_server(a.netns_path, {kind, std::to_string(port)}));
    }

    netlab::RemoteHost remote_;
    std::vector<std::string> ids_, networks_;
    std::vector<pid_t> servers_;
};

}  // namespace

TEST_F(Engine, RemoteHostReachesPublishedTcpAndUdpThroughTheHostAddress) {
    auto a = attach_ok({.container_id = "ctbt-web", .publish = {publish("18080:7000"), publish("18081:7001/udp")}});
    serve(a, "tcp-echo-server", 7000);
    serve(a, "udp-echo-server", 7001);
    std::cout << "nft ruleset for the published ports:\n" << *Nft::open()->run("list table inet ctbench");

    auto tcp = agent_in(remote_.ns_path(), {"tcp-client", netlab::kHostAddr, "18080", "hello-tcp"});
    EXPECT_TRUE(tcp.ok()) << tcp.text;
    EXPECT_EQ(tcp.doc.value("reply", ""), "hello-tcp");
    auto udp = agent_in(remote_.ns_path(), {"udp-client", netlab::kHostAddr, "18081", "hello-udp"});
    EXPECT_TRUE(udp.ok()) << udp.text;
    // Even a neighbour that routes the container subnet via the host reaches published ports only.
    remote_.route_containers_via_host();
    auto direct = agent_in(remote_.ns_path(), {"tcp-client", bare(a.address4), "7000", "x", "--timeout", "500"});
    EXPECT_FALSE(direct.ok()) << direct.text;

    auto listed = ports("ctbt-web");
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->size(), 2u);
    EXPECT_EQ(to_string((*listed)[0]), "7000/tcp -> 0.0.0.0:18080");
    EXPECT_EQ(to_string((*listed)[1]), "7001/udp -> 0.0.0.0:18081");
}

TEST_F(Engine, LoopbackPublishingIsReachableFromTheHostOnly) {
    auto a = attach_ok({.container_id = "ctbt-lo", .publish = {publish("127.0.0.1:18082:7000")}});
    serve(a, "tcp-echo-server", 7000);
    auto host = agent_in("", {"tcp-client", "127.0.0.1", "18082", "from-host"});
    EXPECT_TRUE(host.ok()) << host.text;  // route_localnet on the bridge + masquerade of 127.0.0.0/8

    // A neighbour that sends to 127.0.0.1 with the host as next hop (moby#45610) must not get in.
    remote_.route_loopback_to_host();
    long long before = netlab::loopback_drops();
    auto attack = agent_in(remote_.ns_path(), {"tcp-client", "127.0.0.1", "18082", "x", "--timeout", "1000"});
    EXPECT_FALSE(attack.ok()) << attack.text;
    EXPECT_GT(netlab::loopback_drops(), before) << "the packets did not even reach the host: the test proves nothing";
    auto via_host_addr = agent_in(remote_.ns_path(), {"tcp-client", netlab::kHostAddr, "18082", "x", "--timeout", "500"});
    EXPECT_FALSE(via_host_addr.ok()) << via_host_addr.text;
}

TEST_F(Engine, HairpinToOwnAndNeighboursPublishedPort) {
    auto a = attach_ok({.container_id = "ctbt-hp1", .publish = {publish("18083:7000")}});
    auto b = attach_ok({.container_id = "ctbt-hp2"});
    serve(a, "tcp-echo-server", 7000);
    for (const std::string& addr : std::vector<std::string>{netlab::kHostAddr, a.gateway4}) {
        auto own = agent_in(a.netns_path, {"tcp-client", addr, "18083", "own"});
        EXPECT_TRUE(own.ok()) << addr << ": " << own.text;
        auto neighbour = agent_in(b.netns_path, {"tcp-client", addr, "18083", "neighbour"});
        EXPECT_TRUE(neighbour.ok()) << addr << ": " << neighbour.text;
    }
}

TEST_F(Engine, UserDefinedNetworkListsPeersDefaultBridgeDoesNot) {
    network("ctbt-net", ProxyMode::nat, true);
    auto a = attach_ok({.container_id = "ctbt-a", .network = "ctbt-net", .aliases = {"alpha"}});
    auto b = attach_ok({.container_id = "ctbt-b", .network = "ctbt-net"});
    EXPECT_FALSE(a.address6.empty());
    // a was attached first: its file was rewritten in place when b joined.
    std::string hosts_a = *read_file(a.hosts_file), hosts_b = *read_file(b.hosts_file);
    EXPECT_NE(hosts_a.find(bare(b.address4) + "\tctbt-b"), std::string::npos) << hosts_a;
    EXPECT_NE(hosts_a.find(bare(b.address6) + "\tctbt-b"), std::string::npos) << hosts_a;
    EXPECT_NE(hosts_b.find(bare(a.address4) + "\tctbt-a alpha"), std::string::npos) << hosts_b;
    serve(b, "tcp-echo-server", 7000);
    auto by_ip = agent_in(a.netns_path, {"tcp-client", bare(b.address4), "7000", "peer"});
    EXPECT_TRUE(by_ip.ok()) << by_ip.text;
    auto by_ip6 = agent_in(a.netns_path, {"tcp-client", bare(b.address6), "7000", "peer6"});
    EXPECT_TRUE(by_ip6.ok()) << by_ip6.text;
    auto busy = remove_network("ctbt-net");
    ASSERT_FALSE(busy);
    EXPECT_NE(busy.error().message().find("active endpoints"), std::string::npos);

    auto c = attach_ok({.container_id = "ctbt-c"});
    auto d = attach_ok({.container_id = "ctbt-d"});
    std::string hosts_c = *read_file(c.hosts_file);
    EXPECT_EQ(hosts_c.find("ctbt-d"), std::string::npos) << hosts_c;
    EXPECT_NE(hosts_c.find(bare(c.address4) + "\tctbt-c"), std::string::npos) << hosts_c;

    ASSERT_TRUE(detach("ctbt-b"));
    hosts_a = *read_file(a.hosts_file);
    EXPECT_EQ(hosts_a.find("ctbt-b"), std::string::npos) << "a left peer stays listed:\n" << hosts_a;
}

TEST_F(Engine, PortInUseFailsCleanly) {
    // Another program on the host holds the port.
    UniqueFd holder(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(18084);
    ASSERT_EQ(::bind(holder.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(holder.get(), 1), 0);
    auto taken = attach({.container_id = "ctbt-busy", .publish = {publish("18084:80")}});
    ASSERT_FALSE(taken);
    EXPECT_NE(taken.error().message().find("0.0.0.0:18084/tcp: port already allocated"), std::string::npos)
        << taken.error().message();
    // Nothing half-configured: no record, lease, pin, link, rule or bridge.
    EXPECT_FALSE(store::store_exists());
    EXPECT_EQ(netlab::engine_links(), std::vector<std::string>{});
    EXPECT_FALSE(netlab::nft_table_exists());

    // A port another container publishes (no socket: DNAT) is found through the store.
    attach_ok({.container_id = "ctbt-first", .publish = {publish("18085:80/udp")}});
    auto second = attach({.container_id = "ctbt-second", .publish = {publish("18085:81/udp")}});
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message().find("port already allocated"), std::string::npos) << second.error().message();
    EXPECT_FALSE(attachment("ctbt-second"));
    EXPECT_EQ(netlab::engine_links().size(), 2u);  // ctb0 and the first container's veth only
}

TEST_F(Engine, OutboundTrafficIsMasqueraded) {
    // The remote has no route to the containers: only masquerade makes its replies come back.
    servers_.push_back(netlab::start_server(remote_.ns_path(), {"tcp-echo-server", "7100"}));
    auto a = attach_ok({.container_id = "ctbt-out"});
    auto out = agent_in(a.netns_path, {"tcp-client", netlab::kRemoteAddr, "7100", "outbound"});
    EXPECT_TRUE(out.ok()) << out.text;
    auto other = create_network({.name = "ctbt-iso"});
    networks_.push_back("ctbt-iso");
    ASSERT_TRUE(other) << other.error().message();
    auto b = attach_ok({.container_id = "ctbt-iso1", .network = "ctbt-iso"});
    serve(b, "tcp-echo-server", 7000);
    auto across = agent_in(a.netns_path, {"tcp-client", bare(b.address4), "7000", "x", "--timeout", "500"});
    EXPECT_FALSE(across.ok()) << "networks are not isolated: " << across.text;
}

TEST_F(Engine, PortRangesMapPairwiseOrTakeTheFirstFreePort) {
    UniqueFd holder(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(18120);
    ASSERT_EQ(::bind(holder.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    auto a = attach_ok({.container_id = "ctbt-range", .publish = {publish("18110-18111:7000-7001"), publish("18120-18125:7002/udp")}});
    ASSERT_EQ(a.ports.size(), 3u);
    EXPECT_EQ(to_string(a.ports[0]), "7000/tcp -> 0.0.0.0:18110");
    EXPECT_EQ(to_string(a.ports[1]), "7001/tcp -> 0.0.0.0:18111");
    EXPECT_EQ(to_string(a.ports[2]), "7002/udp -> 0.0.0.0:18121");  // 18120 is taken
    serve(a, "tcp-echo-server", 7001);
    EXPECT_TRUE(agent_in(remote_.ns_path(), {"tcp-client", netlab::kHostAddr, "18111", "range"}).ok());
}

TEST_F(Engine, PublishAllUsesRandomEphemeralPorts) {
    auto a = attach_ok({.container_id = "ctbt-rand", .expose = {*parse_expose("7000"), *parse_expose("7001/udp")},
                        .publish_all = true});
    ASSERT_EQ(a.ports.size(), 2u);
    serve(a, "tcp-echo-server", 7000);
    serve(a, "udp-echo-server", 7001);
    for (const auto& m : a.ports) {
        EXPECT_GE(m.host_port, 1024) << to_string(m);
        auto r = agent_in(remote_.ns_path(), {m.protocol + "-client", netlab::kHostAddr, std::to_string(m.host_port), "rnd"});
        EXPECT_TRUE(r.ok()) << to_string(m) << ": " << r.text;
    }
}

TEST_F(Engine, UserlandProxyNetworkWorksWithoutNat) {
    network("ctbt-proxy", ProxyMode::userland);
    auto a = attach_ok({.container_id = "ctbt-px", .network = "ctbt-proxy",
                        .publish = {publish("18086:7000"), publish("18087:7001/udp"), publish("127.0.0.1:18088:7000")}});
    ASSERT_EQ(a.proxies.size(), 1u);
    EXPECT_EQ(trim(*read_file("/proc/" + std::to_string(a.proxies[0].pid) + "/comm")), kProxyProcessName);
    EXPECT_FALSE(netlab::nft_table_exists()) << "a userland-proxy network installed nft rules";
    serve(a, "tcp-echo-server", 7000);
    serve(a, "udp-echo-server", 7001);
    EXPECT_TRUE(agent_in(remote_.ns_path(), {"tcp-client", netlab::kHostAddr, "18086", "px-tcp"}).ok());
    EXPECT_TRUE(agent_in(remote_.ns_path(), {"udp-client", netlab::kHostAddr, "18087", "px-udp"}).ok());
    EXPECT_TRUE(agent_in("", {"tcp-client", "127.0.0.1", "18088", "px-lo"}).ok());
    EXPECT_FALSE(agent_in(remote_.ns_path(), {"tcp-client", netlab::kHostAddr, "18088", "x", "--timeout", "500"}).ok());
    ASSERT_TRUE(detach("ctbt-px"));
    EXPECT_FALSE(running(a.proxies[0].pid)) << "the proxy outlived detach";
    // Its sockets went with it: the host port can be bound again.
    UniqueFd again(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(18086);
    EXPECT_EQ(::bind(again.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
}

TEST_F(Engine, TwentyParallelAttachesGetDistinctAddresses) {
    network("ctbt-par");
    constexpr int kCount = 20;
    std::vector<std::pair<pid_t, int>> children;
    for (int i = 0; i < kCount; ++i) {
        std::string id = "ctbt-par" + std::to_string(i);
        ids_.push_back(id);
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        pid_t pid = ::fork();
        if (pid == 0) {  // a separate process per start, as separate `ctbench-runtime create`s are
            auto a = attach({.container_id = id, .network = "ctbt-par"});
            std::string out = a ? a->address4 : "error: " + a.error().message();
            (void)!::write(fds[1], out.data(), out.size());
            ::_exit(a ? 0 : 1);
        }
        ::close(fds[1]);
        children.emplace_back(pid, fds[0]);
    }
    std::set<std::string> addresses;
    for (auto [pid, fd] : children) {
        std::string out(128, '\0');
        out.resize(static_cast<std::size_t>(std::max<ssize_t>(0, ::read(fd, out.data(), out.size()))));
        ::close(fd);
        int status = 0;
        ::waitpid(pid, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
        addresses.insert(out);
    }
    EXPECT_EQ(addresses.size(), static_cast<std::size_t>(kCount));
    auto nets = list_networks();
    ASSERT_TRUE(nets);
    ASSERT_EQ(nets->size(), 1u);
    EXPECT_EQ((*nets)[0].leases.size(), static_cast<std::size_t>(kCount));
    // Each address is really on its container's eth0.
    auto last = attachment("ctbt-par" + std::to_string(kCount - 1));
    ASSERT_TRUE(last);
    auto first = attachment("ctbt-par0");
    ASSERT_TRUE(first);
    EXPECT_TRUE(agent_in(first->netns_path, {"udp-client", bare(last->address4), "9", "x", "--timeout", "300"}).code != -1);
    auto info = agent_in(last->netns_path, {"info"});
    EXPECT_NE(info.text.find(bare(last->address4)), std::string::npos) << info.text;
}

TEST_F(Engine, DetachRemovesWhatAKilledRuntimeLeft) {
    // A runtime SIGKILLed after attaching: the record, pin, link, lease and rules stay behind.
    pid_t pid = ::fork();
    if (pid == 0) {
        auto a = attach({.container_id = "ctbt-killed", .publish = {publish("18089:80")}});
        ::kill(::getpid(), SIGKILL);
        ::_exit(a ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(netlab::engine_links().size(), 2u);
    EXPECT_TRUE(std::filesystem::exists(store::netns_pin("ctbt-killed")));
    EXPECT_TRUE(netlab::nft_table_exists());
    ids_.push_back("ctbt-killed");  // TearDown's detach (another "process") must remove it all

    // Killed halfway through (pin and link, no record yet): found by the derived names.
    ASSERT_TRUE(links::create_pinned_netns(store::netns_pin("ctbt-half")));
    ASSERT_TRUE(Rtnl::open()->create_veth(links::veth_name("ctbt-half"), "ctbthalfpeer"));
    ASSERT_TRUE(detach("ctbt-half"));
    EXPECT_FALSE(std::filesystem::exists(store::netns_pin("ctbt-half")));
    EXPECT_FALSE(Rtnl::open()->link_info(links::veth_name("ctbt-half")));
    EXPECT_TRUE(detach("ctbt-never-attached"));
}

TEST_F(Engine, NoneModeIsLoopbackOnly) {
    auto a = attach_ok({.container_id = "ctbt-none", .network = "none"});
    auto info = agent_in(a.netns_path, {"info"});
    ASSERT_TRUE(info.ok()) << info.text;
    auto ping_self = agent_in(a.netns_path, {"tcp-client", "127.0.0.1", "9", "x", "--timeout", "300"});
    EXPECT_EQ(ping_self.doc.value("error", ""), "ECONNREFUSED") << ping_self.text;  // lo is up: refused, not unreachable
    auto out = agent_in(a.netns_path, {"tcp-client", netlab::kHostAddr, "9", "x", "--timeout", "300"});
    EXPECT_EQ(out.doc.value("error", ""), "ENETUNREACH") << out.text;
}

// Guest networking's host side and the host <-> guest series: the pure parts (names by the ctb*
// rule, the guest's console line, which veth workloads run, which host series each is compared
// with, the guest's /init section), and, as root, a real bridge and tap made and removed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "benches/baselines/guest_net.hpp"
#include "benches/baselines/host_guest.hpp"
#include "benches/baselines/suite_image.hpp"
#include "common/fd.hpp"
#include "runtime/network/rtnl.hpp"

namespace ctb {
namespace {

TEST(GuestNet, NamesFollowTheLinkRule) {
    for (pid_t pid : {1, 4194304}) {  // 1 .. pid_max (2^22)
        for (const auto& name : {vm::guest_bridge_name(pid), vm::guest_tap_name(pid)}) {
            EXPECT_TRUE(name.starts_with("ctb")) << name;
            EXPECT_LE(name.size(), 15u) << name;
            // ctbv* and ctbbr* are the network engine's: a test counting its links must not see ours.
            EXPECT_FALSE(name.starts_with("ctbv") || name.starts_with("ctbbr")) << name;
        }
    }
}

TEST(GuestNet, QemuArgsAndKernelParam) {
    EXPECT_EQ(vm::GuestNet::kernel_param(), "ctbench_net=198.19.252.2/30");
}

TEST(GuestNet, ParsesTheGuestsLine) {
    auto ok = vm::parse_guest_net_line("CTBENCH-GUEST-NET ready addr=198.19.252.2 port=7200 if=eth0 mtu=1500");
    EXPECT_TRUE(ok.ready);
    EXPECT_EQ(ok.detail, "ready addr=198.19.252.2 port=7200 if=eth0 mtu=1500");
    auto bad = vm::parse_guest_net_line("CTBENCH-GUEST-NET failed: no virtio-net interface");
    EXPECT_FALSE(bad.ready);
    EXPECT_EQ(bad.detail, "failed: no virtio-net interface");
    EXPECT_FALSE(vm::parse_guest_net_line("CTBENCH-GUEST-NET").ready);
}

TEST(HostGuest, ModesOfTheSelectedVethBenches) {
    using V = std::vector<std::string>;
    EXPECT_EQ(bench::host_guest::veth_modes({"start.lifecycle", "veth.tcp_rr", "veth.udp_stream"}),
              (V{"tcp_rr", "udp_stream"}));
    EXPECT_EQ(bench::host_guest::veth_modes({"veth.tcp_stream"}), (V{"tcp_stream"}));
    EXPECT_TRUE(bench::host_guest::veth_modes({"overlayio.seq_read", "veth.tcp_rrx"}).empty());
}

TEST(HostGuest, BaselineIsTheNetnsVethPathOfTheSameWorkload) {
    using bench::host_guest::baseline_of;
    EXPECT_EQ(baseline_of("veth.tcp_stream/host-guest-virtio"), "veth.tcp_stream/netns-veth");
    EXPECT_EQ(baseline_of("veth.tcp_rr/host-guest-virtio/p99"), "veth.tcp_rr/netns-veth/p99");
    EXPECT_EQ(baseline_of("veth.tcp_rr/host-guest-virtio/p99.9"), "veth.tcp_rr/netns-veth/p99.9");
    EXPECT_EQ(baseline_of("veth.tcp_rr/netns-veth"), "");
    EXPECT_EQ(baseline_of("veth.tcp_rr/host-guest-virtio/other"), "");
    EXPECT_EQ(baseline_of("start.lifecycle/host-guest-virtio"), "");
}

TEST(HostGuest, NotRunNamesEveryModeWithTheReason) {
    auto out = bench::host_guest::not_run({"agent", {"tcp_stream", "tcp_rr"}, 1, false}, "the guest's NIC is missing");
    ASSERT_EQ(out.not_run.size(), 2u);
    EXPECT_EQ(out.not_run[0].name, "veth.tcp_stream/host-guest-virtio");
    EXPECT_EQ(out.not_run[1].name, "veth.tcp_rr/host-guest-virtio");
    EXPECT_EQ(out.not_run[1].reason, "the guest's NIC is missing");
    EXPECT_TRUE(out.not_run[1].error);
    EXPECT_TRUE(out.results.empty());
}

// A loopback TCP socket bound to a free port and not yet listening: connects to it are refused
// until listen(), like a guest whose server is not reachable yet.
struct LateServer {
    UniqueFd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    vm::GuestNetEndpoint endpoint;
    LateServer() {
        endpoint.address = "127.0.0.1";
        endpoint.tap = "lo";
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len) != 0 ||
            ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
            ADD_FAILURE() << "bind a loopback port";
        endpoint.port = ntohs(a.sin_port);
    }
};

TEST(HostGuest, WaitsForAServerThatListensLate) {
    LateServer server;
    std::thread later([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        ::listen(server.fd.get(), 4);
    });
    auto ready = bench::host_guest::wait_until_serving(server.endpoint, std::chrono::milliseconds(5000));
    later.join();
    EXPECT_TRUE(ready) << ready.error().message();
}

TEST(HostGuest, GivesUpOnAServerThatNeverListensWithTheLastError) {
    LateServer server;
    auto ready = bench::host_guest::wait_until_serving(server.endpoint, std::chrono::milliseconds(600));
    ASSERT_FALSE(ready);
    const std::string why = ready.error().message();
    EXPECT_NE(why.find(fmt::format("127.0.0.1:{}", server.endpoint.port)), std::string::npos) << why;
    EXPECT_NE(why.find("within 600 ms"), std::string::npos) << why;
    EXPECT_NE(why.find("Connection refused"), std::string::npos) << why;
}

TEST(HostGuest, EveryModeNotRunWhenTheGuestNeverServes) {
    LateServer server;
    auto out = bench::host_guest::measure(
        {"agent-not-needed", {"tcp_stream", "tcp_rr"}, 1, false, std::chrono::milliseconds(300)}, server.endpoint);
    ASSERT_EQ(out.not_run.size(), 2u);
    EXPECT_TRUE(out.results.empty());
    for (const auto& n : out.not_run) {
        EXPECT_TRUE(n.error);
        EXPECT_NE(n.reason.find("no connection accepted"), std::string::npos) << n.reason;
    }
}

TEST(SuiteInit, BringsTheNicUpOnlyWhenAskedAndWaitsBounded) {
    std::string init = vm::suite_init_script({});
    EXPECT_NE(init.find("if [ -n \"$ctbench_net\" ]"), std::string::npos);
    EXPECT_NE(init.find("netbench-server 7200 --bind"), std::string::npos);
    EXPECT_NE(init.find("CTBENCH-GUEST-NET ready"), std::string::npos);
    EXPECT_NE(init.find("= \"ctbench.control\""), std::string::npos);
    EXPECT_NE(init.find("timeout 3600"), std::string::npos);
    EXPECT_EQ(init.find("route add default"), std::string::npos);  // the guest reaches the bridge only
    for (const char* placeholder : {"@NET@", "@CONTROL@", "@NETPORT@"})
        EXPECT_EQ(init.find(placeholder), std::string::npos) << placeholder << " left unfilled";
}

// As root: the bridge with its address and the tap on it, up; both gone when GuestNet goes.
TEST(GuestNet, MadeAndRemoved) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (creates a bridge and a tap on the host)";
    pid_t tag = ::getpid();
    {
        auto net = vm::GuestNet::create(tag);
        ASSERT_TRUE(net) << net.error().message();
        auto rtnl = net::Rtnl::open();
        ASSERT_TRUE(rtnl);
        auto bridge = rtnl->link_info(net->bridge());
        auto tap = rtnl->link_info(net->tap());
        ASSERT_TRUE(bridge) << bridge.error().message();
        ASSERT_TRUE(tap) << tap.error().message();
        EXPECT_EQ(bridge->kind, "bridge");
        EXPECT_EQ(tap->kind, "tun");
        EXPECT_EQ(tap->master, bridge->index);
        EXPECT_TRUE(bridge->up && tap->up);
        auto args = net->qemu_args();
        ASSERT_EQ(args.size(), 4u);
        EXPECT_EQ(args[1], "tap,id=ctbnet,ifname=" + net->tap() + ",script=no,downscript=no");
        EXPECT_EQ(args[3], "virtio-net-device,netdev=ctbnet");
    }
    auto rtnl = net::Rtnl::open();
    ASSERT_TRUE(rtnl);
    auto links = rtnl->list_links();
    ASSERT_TRUE(links);
    for (const auto& name : *links) {
        EXPECT_NE(name, vm::guest_bridge_name(tag));
        EXPECT_NE(name, vm::guest_tap_name(tag));
    }
}

}  // namespace
}  // namespace ctb

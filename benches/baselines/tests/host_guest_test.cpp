// Guest networking's host side and the host <-> guest series: the pure parts (names by the ctb*
// rule, the guest's console line, which veth workloads run, which host series each is compared
// with, the guest's /init section), and, as root, a real bridge and tap made and removed.
#include <gtest/gtest.h>
#include <unistd.h>

#include "benches/baselines/guest_net.hpp"
#include "benches/baselines/host_guest.hpp"
#include "benches/baselines/suite_image.hpp"
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

// The real network tracer on this kernel: in a network namespace of the test's own, it counts the
// loopback traffic the test makes (packets both ways, every byte), the datagrams a full socket
// drops, nothing of an interface it was not told to watch, loses nothing, and leaves no program
// or link behind.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <cstring>
#include <thread>

#include "bpf/net_tracer.hpp"
#include "bpf/probe.hpp"
#include "common/deadline.hpp"
#include "common/fd.hpp"
#include "common/subprocess.hpp"

namespace ctb::bpf {
namespace {

std::vector<std::string> attachable_kinds() {
    ensure_tracefs();
    std::vector<std::string> kinds;
    for (const auto& [kind, f] : probe_program_types())
        if (f.available) kinds.push_back(kind);
    return kinds;
}

std::string bpftool_listing(const char* what) {
    for (const char* bpftool : {"/usr/sbin/bpftool", "/sbin/bpftool"}) {
        auto r = run_process({bpftool, what, "list"});
        if (r) return r->output;
    }
    return "(bpftool not found)";
}

// lo up in the calling thread's (new) network namespace.
void loopback_up() {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    ASSERT_EQ(::ioctl(s.get(), SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    ASSERT_EQ(::ioctl(s.get(), SIOCSIFFLAGS, &ifr), 0);
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

// 1 MiB over TCP on 127.0.0.1, read to the end.
void tcp_traffic() {
    UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto addr = loopback(0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(::listen(l.get(), 1), 0);
    ASSERT_EQ(::getsockname(l.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    std::thread sender([addr] {
        UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (::connect(c.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return;
        std::vector<char> buf(1 << 20, 'n');
        for (std::size_t off = 0; off < buf.size();) {
            ssize_t n = ::send(c.get(), buf.data() + off, buf.size() - off, 0);
            if (n <= 0) return;
            off += static_cast<std::size_t>(n);
        }
    });
    UniqueFd a(::accept(l.get(), nullptr, nullptr));
    std::vector<char> buf(1 << 16);
    std::size_t got = 0;
    while (true) {
        ssize_t n = ::recv(a.get(), buf.data(), buf.size(), 0);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    sender.join();
    ASSERT_EQ(got, 1u << 20);
}

// 2000 datagrams at a socket with the smallest receive buffer that nobody reads: most are dropped.
void udp_overflow() {
    UniqueFd r(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    int small = 1;
    ::setsockopt(r.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    auto addr = loopback(0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(r.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(::getsockname(r.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    char payload[1000] = {};
    for (int i = 0; i < 2000; ++i) ::sendto(s.get(), payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&addr), len);
}

TEST(NetTracer, CountsWatchedLoopbackOnlyAndLeavesNothing) {
    // A network namespace of this test's own: its lo carries nothing but the test's traffic.
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0);
    loopback_up();
    auto inode = netns_inode("/proc/self/ns/net");
    ASSERT_TRUE(inode) << inode.error().message();
    auto tracer = NetTracer::open(attachable_kinds());
    ASSERT_TRUE(tracer) << tracer.error().message();
    ASSERT_TRUE((*tracer)->watch("lo", *inode, 1));
    ASSERT_TRUE((*tracer)->watch("absent", *inode, 4242));  // no such link: must stay at zero
    ASSERT_TRUE((*tracer)->watch_netns(*inode));
    ASSERT_TRUE((*tracer)->attach());
    EXPECT_NE(bpftool_listing("prog").find("ctb_nt_"), std::string::npos);
    tcp_traffic();
    udp_overflow();
    auto snap = (*tracer)->read();
    (*tracer)->detach();
    ASSERT_EQ(snap.interfaces.size(), 2u);
    const auto& lo = snap.interfaces[0].counts;
    EXPECT_GT(lo.tx_packets, 0u);
    EXPECT_EQ(lo.tx_packets, lo.rx_packets);  // loopback: every packet sent is received
    EXPECT_GE(lo.rx_bytes, 1u << 20);          // at least the stream's payload
    EXPECT_GT(lo.drops, 0u);                   // the overflowing datagrams
    EXPECT_EQ(lo.tx_errors, 0u);
    const auto& absent = snap.interfaces[1].counts;
    EXPECT_EQ(absent.tx_packets + absent.rx_packets + absent.drops, 0u);
    EXPECT_EQ(snap.events_lost, 0u);
    EXPECT_GT(snap.events_seen, 0u);
    auto j = snap.summary((*tracer)->program_kind());
    EXPECT_EQ(j["lost"], 0);
    EXPECT_EQ(j["interfaces"].size(), 2u);

    (*tracer)->clear();
    auto cleared = (*tracer)->read();
    EXPECT_TRUE(cleared.interfaces.empty());
    EXPECT_EQ(cleared.events_seen, 0u);

    tracer->reset();  // destroys the skeleton: programs, links, maps
    bool gone = retry_until(Deadline(std::chrono::seconds(5)), [] {
        return bpftool_listing("prog").find("ctb_nt_") == std::string::npos &&
               bpftool_listing("link").find("ctb_nt_") == std::string::npos;
    });
    EXPECT_TRUE(gone) << bpftool_listing("prog") << bpftool_listing("link");
}

TEST(NetTracer, RefusesAHostWithoutUsableProgramKinds) {
    auto tracer = NetTracer::open({"tracepoint", "kprobe"});
    ASSERT_FALSE(tracer);
    EXPECT_NE(tracer.error().message().find("neither tp_btf nor raw_tp"), std::string::npos);
}

}  // namespace
}  // namespace ctb::bpf

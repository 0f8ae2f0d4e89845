#include "runtime/network/probe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <fmt/format.h>
#include <initializer_list>

#include "common/deadline.hpp"
#include "common/fd.hpp"
#include "runtime/network/nft.hpp"
#include "runtime/network/rtnl.hpp"

namespace ctb::net {
namespace {

// ---- the throwaway child ---------------------------------------------------------------------

nlohmann::json encode(const Result<std::string>& result) {
    if (result) return {{"value", *result}};
    const Error& e = result.error();
    return {{"error", {{"step", e.step}, {"object", e.object}, {"err", e.err}, {"detail", e.detail}}}};
}

Result<std::string> decode(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_object() && j.contains("value") && j["value"].is_string()) return j["value"].get<std::string>();
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
        const auto& e = j["error"];
        return fail(Error{e.value("step", ""), e.value("object", ""), e.value("err", 0), e.value("detail", "")});
    }
    return fail(plain_error("read throwaway netns result", "", "malformed: " + text.substr(0, 200)));
}

bool write_all(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

Result<std::string> run_body(const std::function<Result<std::string>()>& body) {
    try {
        return body();
    } catch (const std::exception& e) {
        return fail(plain_error("throwaway netns body", "", std::string("exception: ") + e.what()));
    } catch (...) {
        return fail(plain_error("throwaway netns body", "", "unknown exception"));
    }
}

[[noreturn]] void child_main(int write_fd, pid_t parent, const std::function<Result<std::string>()>& body) {
    // Die with the parent: an orphan would keep its namespace, and its links, alive.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    Result<std::string> result = ::unshare(CLONE_NEWNET) == 0
                                     ? run_body(body)
                                     : fail(sys_error("unshare", "CLONE_NEWNET"));
    // _exit, not exit: the parent's atexit handlers and stdio buffers are not ours to run.
    ::_exit(write_all(write_fd, encode(result).dump()) ? 0 : 1);
}

// Reads until EOF; returns false when the deadline passed first.
bool read_until_eof(int fd, const Deadline& deadline, std::string& out) {
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.remaining());
        if (left.count() <= 0) return false;
        pollfd pfd{fd, POLLIN, 0};
        int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) return false;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return true;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

// Waits for the child until the deadline, then kills it by its pid. Returns the wait status.
int reap(pid_t pid, const Deadline& deadline, bool& killed) {
    int status = 0;
    bool exited = retry_until(deadline, [&] { return ::waitpid(pid, &status, WNOHANG) == pid; });
    if (exited) return status;
    killed = true;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

// ---- the probe itself (runs in the child) ----------------------------------------------------

constexpr const char* kBridge = "ctbprobe0";
constexpr const char* kVethHost = "ctbprobe1";
constexpr const char* kVethPeer = "ctbprobe2";

// A DNAT for a published port and a masquerade for traffic leaving the container subnet: the
// two rule kinds port publishing needs.
constexpr const char* kNatRuleset = R"(table inet ctbench {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        tcp dport 18080 dnat ip to 198.18.0.2:80
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr 198.18.0.0/24 oifname != "ctbprobe0" masquerade
    }
}
)";

// Runs steps in order and stops at the first failure, which is the feature's reason.
Status steps(std::initializer_list<std::function<Status()>> list) {
    for (const auto& step : list)
        if (auto st = step(); !st) return st;
    return {};
}

unsigned long netns_inode(const char* path) {
    struct stat st {};
    return ::stat(path, &st) == 0 ? static_cast<unsigned long>(st.st_ino) : 0;
}

Feature probe_bridge(Rtnl& rtnl) {
    Status st = steps({
        [&] { return rtnl.create_bridge(kBridge); },
        [&] { return rtnl.add_address(kBridge, "198.18.0.1/24"); },
        [&] { return rtnl.add_address(kBridge, "2001:2::1/64"); },
        [&] { return rtnl.set_link_up(kBridge, true); },
    });
    if (!st) return Feature::no(st.error().message());
    auto info = rtnl.link_info(kBridge);
    if (!info) return Feature::no(info.error().message());
    if (info->kind != "bridge")
        return Feature::no(fmt::format("created {} but the kernel reports kind \"{}\"", kBridge, info->kind));
    return Feature::yes(fmt::format("created bridge {} ifindex {} with 198.18.0.1/24 and 2001:2::1/64, up",
                                    kBridge, info->index));
}

Feature probe_veth(Rtnl& rtnl) {
    Status st = steps({
        [&] { return rtnl.create_veth(kVethHost, kVethPeer); },
        [&] { return rtnl.add_address(kVethPeer, "198.18.0.2/24"); },
        [&] { return rtnl.add_address(kVethPeer, "2001:2::2/64"); },
        [&] { return rtnl.set_link_up(kVethHost, true); },
        [&] { return rtnl.set_link_up(kVethPeer, true); },
        [&] { return rtnl.add_default_route("198.18.0.1", kVethPeer); },
    });
    if (!st) return Feature::no(st.error().message());
    auto host = rtnl.link_info(kVethHost);
    auto peer = rtnl.link_info(kVethPeer);
    if (!host) return Feature::no(host.error().message());
    if (!peer) return Feature::no(peer.error().message());
    if (host->kind != "veth" || peer->kind != "veth")
        return Feature::no(fmt::format("created {} but the kernel reports kind \"{}\"", kVethHost, host->kind));
    return Feature::yes(fmt::format(
        "created veth {} ifindex {} <-> {} ifindex {}, 198.18.0.2/24 and 2001:2::2/64 on {}, "
        "default via 198.18.0.1, both up",
        kVethHost, host->index, kVethPeer, peer->index, kVethPeer));
}

// Enslaving a port is part of what "bridge works" means, so its failure downgrades the bridge.
Feature enslave(Rtnl& rtnl, Feature bridge) {
    if (!bridge.available) return bridge;
    if (auto st = rtnl.set_master(kVethHost, kBridge); !st) return Feature::no(st.error().message());
    auto port = rtnl.link_info(kVethHost);
    auto br = rtnl.link_index(kBridge);
    if (!port) return Feature::no(port.error().message());
    if (!br) return Feature::no(br.error().message());
    if (port->master != *br)
        return Feature::no(fmt::format("{} master is ifindex {}, expected {}", kVethHost, port->master, *br));
    bridge.detail += fmt::format("; {} enslaved to it", kVethHost);
    return bridge;
}

// Counts rules in `nft -j list` output whose expressions include `statement` ("dnat").
int count_rules_with(const nlohmann::json& listing, const std::string& statement) {
    int count = 0;
    for (const auto& item : listing.value("nftables", nlohmann::json::array())) {
        if (!item.contains("rule")) continue;
        for (const auto& expr : item["rule"].value("expr", nlohmann::json::array()))
            if (expr.contains(statement)) ++count;
    }
    return count;
}

void probe_nft(NetworkProbe& p) {
    auto nft = Nft::open();
    if (!nft) {
        p.nftables = p.nft_nat = Feature::no(nft.error().message());
        return;
    }
    if (auto out = nft->run("add table inet ctbench"); !out) {
        p.nftables = p.nft_nat = Feature::no(out.error().message());
        return;
    }
    p.nftables = Feature::yes("created table inet ctbench through libnftables");
    if (auto out = nft->run(kNatRuleset); !out) {
        p.nft_nat = Feature::no(out.error().message());
        return;
    }
    nft->set_json(true);
    auto listing = nft->run("list table inet ctbench");
    if (!listing) {
        p.nft_nat = Feature::no(listing.error().message());
        return;
    }
    auto json = nlohmann::json::parse(*listing, nullptr, false);
    int dnat = count_rules_with(json, "dnat"), masq = count_rules_with(json, "masquerade");
    if (dnat != 1 || masq != 1)
        p.nft_nat = Feature::no(fmt::format("listed back {} dnat and {} masquerade rules, expected 1 each: {}",
                                            dnat, masq, listing->substr(0, 300)));
    else
        p.nft_nat = Feature::yes("inet ctbench nat chains listed back with a dnat rule (tcp 18080 -> "
                                 "198.18.0.2:80) and a masquerade rule");
}

NetworkProbe probe_here(unsigned long host_inode) {
    NetworkProbe p;
    unsigned long inode = netns_inode("/proc/self/ns/net");
    p.netns = Feature::yes(fmt::format("unshare(CLONE_NEWNET): netns inode {} (parent's {})", inode, host_inode));
    if (auto rtnl = Rtnl::open(); !rtnl) {
        p.bridge = p.veth = Feature::no(rtnl.error().message());
    } else {
        p.bridge = probe_bridge(*rtnl);
        p.veth = probe_veth(*rtnl);
        p.bridge = enslave(*rtnl, p.bridge);
    }
    probe_nft(p);
    return p;  // no cleanup needed: the namespace and all in it go away when the child exits
}

NetworkProbe all_missing(const Error& e) {
    NetworkProbe p;
    bool no_netns = e.step == "unshare";
    p.netns = Feature::no(no_netns ? e.message() : "network probe failed: " + e.message());
    std::string reason = no_netns ? "needs a network namespace: " + e.message() : p.netns.detail;
    p.veth = p.bridge = p.nftables = p.nft_nat = Feature::no(reason);
    return p;
}

}  // namespace

Result<std::string> run_in_throwaway_netns(const std::function<Result<std::string>()>& body,
                                           std::chrono::milliseconds timeout) {
    Deadline deadline(timeout);
    int fds[2];
    // CLOEXEC: programs the body runs must not hold the pipe open past the child's exit.
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(sys_error("pipe2", "throwaway netns"));
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) return fail(sys_error("fork", "throwaway netns"));
    if (pid == 0) {
        read_end.reset();
        child_main(write_end.get(), parent, body);
    }
    write_end.reset();
    std::string text;
    bool finished = read_until_eof(read_end.get(), deadline, text);
    bool killed = !finished;
    if (killed) ::kill(pid, SIGKILL);
    int status = reap(pid, deadline, killed);
    if (killed)
        return fail(Error{"run in throwaway netns", fmt::format("pid {}", pid), ETIMEDOUT,
                          fmt::format("killed after {} ms", timeout.count())});
    if (text.empty() && WIFSIGNALED(status))
        return fail(plain_error("run in throwaway netns", fmt::format("pid {}", pid),
                                fmt::format("child killed by signal {}", WTERMSIG(status))));
    return decode(text);
}

NetworkProbe probe_network(std::chrono::milliseconds timeout) {
    unsigned long host_inode = netns_inode("/proc/thread-self/ns/net");
    auto out = run_in_throwaway_netns(
        [host_inode]() -> Result<std::string> { return nlohmann::json(probe_here(host_inode)).dump(); },
        timeout);
    if (!out) return all_missing(out.error());
    try {
        return nlohmann::json::parse(*out).get<NetworkProbe>();
    } catch (const std::exception& e) {
        return all_missing(plain_error("parse network probe result", "", e.what()));
    }
}

}  // namespace ctb::net

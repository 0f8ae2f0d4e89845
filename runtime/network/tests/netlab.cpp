#include "netlab.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <stdexcept>

#include "common/child.hpp"
#include "common/deadline.hpp"
#include "common/subprocess.hpp"
#include "runtime/network/links.hpp"
#include "runtime/network/netns.hpp"
#include "runtime/network/nft.hpp"
#include "runtime/network/rtnl.hpp"

namespace netlab {
namespace {

template <class T>
T must(ctb::Result<T> r) {
    if (!r) throw std::runtime_error(r.error().message());
    return std::move(*r);
}
void must(ctb::Status s) {
    if (!s) throw std::runtime_error(s.error().message());
}

void enter(const std::string& ns_path) {
    if (ns_path.empty()) return;
    ctb::UniqueFd fd(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd || ::setns(fd.get(), CLONE_NEWNET) != 0) throw std::runtime_error("setns " + ns_path);
}

}  // namespace

std::string agent_path() {
    const char* p = std::getenv("CTBENCH_AGENT");
    if (!p) throw std::runtime_error("CTBENCH_AGENT is not set");
    return p;
}

Outcome agent_in(const std::string& ns_path, const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    auto out = ctb::run_in_child(
        [&] {
            enter(ns_path);
            std::vector<std::string> argv{agent_path()};
            argv.insert(argv.end(), args.begin(), args.end());
            ctb::RunOptions options;
            options.timeout = timeout;
            auto r = must(ctb::run_process(argv, options));
            return nlohmann::json{{"code", r.timed_out ? -1 : r.exit_code}, {"out", r.output}}.dump();
        },
        timeout + std::chrono::seconds(5));
    Outcome o;
    if (!out) {
        o.text = out.error().message();
        return o;
    }
    auto j = nlohmann::json::parse(*out);
    o.code = j["code"];
    o.text = j["out"];
    // The agent prints one JSON document on stdout (diagnostics may precede it on stderr).
    auto brace = o.text.find('{');
    if (brace != std::string::npos) o.doc = nlohmann::json::parse(o.text.substr(brace), nullptr, false);
    return o;
}

pid_t start_server(const std::string& ns_path, const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    pid_t pid = ::fork();
    if (pid == 0) {
        try {
            enter(ns_path);
        } catch (...) {
            ::_exit(127);
        }
        ::dup2(fds[1], 1);
        std::string agent = agent_path();
        std::vector<char*> argv{agent.data()};
        std::vector<std::string> copy = args;
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(agent.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    ctb::UniqueFd out(fds[0]);
    std::string seen;
    bool ready = ctb::retry_until(ctb::Deadline(std::chrono::seconds(5)), [&] {
        pollfd p{out.get(), POLLIN, 0};
        char buf[256];
        if (::poll(&p, 1, 0) > 0) {
            ssize_t n = ::read(out.get(), buf, sizeof buf);
            if (n > 0) seen.append(buf, static_cast<std::size_t>(n));
        }
        return seen.find("listening") != std::string::npos;
    });
    if (!ready) {
        stop_process(pid);
        throw std::runtime_error("server did not start: " + seen);
    }
    return pid;
}

void stop_process(pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);  // our own child, by pid
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

void RemoteHost::up() {
    ns_ = must(ctb::net::new_netns());
    auto host = must(ctb::net::Rtnl::open());
    must(host.create_veth(kRemoteLink, "eth0", ns_.get()));
    must(host.add_address(kRemoteLink, std::string(kHostAddr) + "/24"));
    must(host.set_link_up(kRemoteLink, true));
    // Packets the remote sends to a published port arrive here and are routed on to a bridge:
    // IPv4 forwards only what arrives on an interface with forwarding on. This link is the
    // test's own, standing in for the host's LAN interface.
    must(ctb::net::links::set_sysctl(std::string("ipv4/conf/") + kRemoteLink + "/forwarding", "1"));
    auto remote = must(ctb::net::Rtnl::open(ns_.get()));
    must(remote.add_address("eth0", std::string(kRemoteAddr) + "/24"));
    must(remote.set_link_up("eth0", true));
}

void RemoteHost::down() {
    if (auto host = ctb::net::Rtnl::open()) (void)host->delete_link(kRemoteLink);
    ns_.reset();
}

std::string RemoteHost::ns_path() const { return "/proc/self/fd/" + std::to_string(ns_.get()); }

void RemoteHost::route_loopback_to_host() {
    // The remote's lo stays down, so 127.0.0.0/8 is not local there and this route is used.
    must(ctb::net::in_netns(ns_.get(), [] { return ctb::net::links::set_sysctl("ipv4/conf/eth0/route_localnet", "1"); }));
    auto remote = must(ctb::net::Rtnl::open(ns_.get()));
    must(remote.add_route("127.0.0.1/32", kHostAddr, "eth0"));
}

void RemoteHost::route_containers_via_host() {
    auto remote = must(ctb::net::Rtnl::open(ns_.get()));
    must(remote.add_route("198.18.0.0/15", kHostAddr, "eth0"));
}

std::vector<std::string> engine_links() {
    std::vector<std::string> out;
    auto rtnl = must(ctb::net::Rtnl::open());
    for (const auto& name : must(rtnl.list_links()))
        if (name == "ctb0" || name.starts_with("ctbbr") || name.starts_with("ctbv")) out.push_back(name);
    return out;
}

long long loopback_drops() {
    auto nft = must(ctb::net::Nft::open());
    auto text = nft.run("list chain inet ctbench net_raw");
    if (!text) return -1;
    std::smatch m;
    if (!std::regex_search(*text, m, std::regex("packets ([0-9]+)"))) return -1;
    return std::stoll(m[1]);
}

bool nft_table_exists() {
    auto nft = must(ctb::net::Nft::open());
    return bool(nft.run("list table inet ctbench"));
}

}  // namespace netlab

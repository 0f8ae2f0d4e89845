#include "runtime/network/testbed.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <stdexcept>

#include "common/child.hpp"
#include "common/deadline.hpp"
#include "common/subprocess.hpp"
#include "runtime/network/links.hpp"
#include "runtime/network/netns.hpp"
#include "runtime/network/nft.hpp"
#include "runtime/network/rtnl.hpp"

namespace ctb::net::testbed {
namespace {

// In a forked child only: moves it into the namespace for good.
bool enter(const std::string& ns_path) {
    if (ns_path.empty()) return true;
    UniqueFd fd(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
    return fd && ::setns(fd.get(), CLONE_NEWNET) == 0;
}

std::vector<char*> c_argv(std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return argv;
}

// Reads what the server prints until it says it listens (or the deadline passes).
bool wait_listening(int fd, std::string& seen) {
    return retry_until(Deadline(std::chrono::seconds(5)), [&] {
        pollfd p{fd, POLLIN, 0};
        char buf[256];
        if (::poll(&p, 1, 0) > 0) {
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n > 0) seen.append(buf, static_cast<std::size_t>(n));
        }
        return seen.find("listening") != std::string::npos;
    });
}

}  // namespace

AgentOutcome run_agent(const std::string& agent, const std::string& ns_path, const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout) {
    auto out = run_in_child(
        [&] {
            if (!enter(ns_path)) throw std::runtime_error("setns " + ns_path);
            std::vector<std::string> argv{agent};
            argv.insert(argv.end(), args.begin(), args.end());
            RunOptions options;
            options.timeout = timeout;
            auto r = run_process(argv, options);
            if (!r) throw std::runtime_error(r.error().message());
            return nlohmann::json{{"code", r->timed_out ? -1 : r->exit_code}, {"out", r->output}}.dump();
        },
        timeout + std::chrono::seconds(5));
    AgentOutcome o;
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

Result<pid_t> start_agent_server(const std::string& agent, const std::string& ns_path,
                                 const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(sys_error("pipe2", "agent server"));
    std::vector<std::string> argv{agent};
    argv.insert(argv.end(), args.begin(), args.end());
    auto cargv = c_argv(argv);  // built before fork: the child only execs
    pid_t pid = ::fork();
    if (pid < 0) return fail(sys_error("fork", "agent server"));
    if (pid == 0) {
        if (!enter(ns_path)) ::_exit(127);
        ::dup2(fds[1], 1);
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    UniqueFd out(fds[0]);
    std::string seen;
    if (!wait_listening(out.get(), seen)) {
        stop_process(pid);
        return fail(plain_error("start", "agent server " + args.at(0), "did not listen within 5 s: " + seen));
    }
    return pid;
}

void stop_process(pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);  // our own child, by pid
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

Result<RemoteHost> RemoteHost::create(RemoteHostAddresses a) {
    auto ns = new_netns();
    if (!ns) return fail(ns.error());
    RemoteHost remote(a, std::move(*ns));  // from here on its destructor removes the link
    auto host = Rtnl::open();
    if (!host) return fail(host.error());
    if (auto s = host->create_veth(a.link, "eth0", remote.ns_fd()); !s) {
        remote.a_.link.clear();  // not ours: it may be somebody else's link of that name
        return fail(s.error());
    }
    // Packets the remote sends to a published port arrive here and are routed on to a bridge:
    // IPv4 forwards only what arrives on an interface with forwarding on. This link stands in
    // for the host's LAN interface.
    Status s = host->add_address(a.link, a.host_addr + "/24");
    if (s) s = host->set_link_up(a.link, true);
    if (s) s = links::set_sysctl("ipv4/conf/" + a.link + "/forwarding", "1");
    auto inside = Rtnl::open(remote.ns_fd());
    if (s && !inside) s = fail(inside.error());
    if (s) s = inside->add_address("eth0", a.remote_addr + "/24");
    if (s) s = inside->set_link_up("eth0", true);
    if (!s) return fail(s.error());
    return remote;
}

RemoteHost::~RemoteHost() {
    if (a_.link.empty()) return;
    if (auto host = Rtnl::open()) (void)host->delete_link(a_.link);
}

std::string RemoteHost::ns_path() const { return "/proc/self/fd/" + std::to_string(ns_.get()); }

Status RemoteHost::route_loopback_to_host() {
    // The remote's lo stays down, so 127.0.0.0/8 is not local there and this route is used.
    if (auto s = in_netns(ns_.get(), [] { return links::set_sysctl("ipv4/conf/eth0/route_localnet", "1"); }); !s)
        return s;
    auto remote = Rtnl::open(ns_.get());
    if (!remote) return fail(remote.error());
    return remote->add_route("127.0.0.1/32", a_.host_addr, "eth0");
}

Status RemoteHost::route_containers_via_host() {
    auto remote = Rtnl::open(ns_.get());
    if (!remote) return fail(remote.error());
    return remote->add_route("198.18.0.0/15", a_.host_addr, "eth0");
}

Result<std::vector<std::string>> engine_links() {
    auto rtnl = Rtnl::open();
    if (!rtnl) return fail(rtnl.error());
    auto names = rtnl->list_links();
    if (!names) return fail(names.error());
    std::vector<std::string> out;
    for (const auto& name : *names)
        if (name == "ctb0" || name.starts_with("ctbbr") || name.starts_with("ctbv")) out.push_back(name);
    return out;
}

long long loopback_drops() {
    auto nft = Nft::open();
    if (!nft) return -1;
    auto text = nft->run("list chain inet ctbench net_raw");
    if (!text) return -1;
    std::smatch m;
    if (!std::regex_search(*text, m, std::regex("packets ([0-9]+)"))) return -1;
    return std::stoll(m[1]);
}

bool nft_table_exists() {
    auto nft = Nft::open();
    return nft && bool(nft->run("list table inet ctbench"));
}

}  // namespace ctb::net::testbed

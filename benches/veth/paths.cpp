#include "benches/veth/paths.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "bpf/net_tracer.hpp"
#include "runtime/network/rtnl.hpp"
#include "runtime/network/testbed.hpp"

namespace ctb::bench::veth {

// The container port of every server; host ports and the loopback port come from the kernel.
constexpr std::uint16_t kServerPort = 7100;

struct Lab::Parts {
    std::optional<CliRuntime> rt;
    HostProcess loop_server;
    std::optional<NetnsPair> pair;
    HostProcess pair_server;
    std::optional<OwnNetwork> proxy_net;
    std::vector<Attached> attachments;
    std::vector<ServerContainer> servers;  // declared last: the containers go first
};

namespace {

std::string bare(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

Result<WatchedLink> resolve(const std::string& label, const std::string& ns_path, const std::string& link) {
    std::string path = ns_path.empty() ? "/proc/self/ns/net" : ns_path;
    auto inode = bpf::netns_inode(path);
    if (!inode) return fail(inode.error());
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error("open network namespace", path));
    auto rtnl = net::Rtnl::open(fd.get());
    if (!rtnl) return fail(rtnl.error());
    auto index = rtnl->link_index(link);
    if (!index) return fail(index.error());
    return WatchedLink{label, *inode, *index};
}

Status add_links(Path& p, const std::vector<std::tuple<std::string, std::string, std::string>>& links) {
    for (const auto& [label, ns, link] : links) {
        auto w = resolve(label, ns, link);
        if (!w) return fail(w.error());
        p.links.push_back(*w);
        if (std::find(p.namespaces.begin(), p.namespaces.end(), w->netns) == p.namespaces.end())
            p.namespaces.push_back(w->netns);
    }
    return {};
}

Result<nlohmann::json> agent_client(const std::string& agent, const std::string& ns, const std::string& mode,
                                    const std::string& addr, std::uint16_t port, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"netbench-client", mode, addr, std::to_string(port)};
    args.insert(args.end(), extra.begin(), extra.end());
    auto o = net::testbed::run_agent(agent, ns, args, std::chrono::seconds(60));
    if (!o.ok() || !o.doc.is_object())
        return fail(plain_error("netbench-client " + mode, addr + ":" + std::to_string(port), o.text.substr(0, 400)));
    return o.doc;
}

Result<HostProcess> agent_server(const std::string& agent, const std::string& ns, const std::string& bind,
                                 std::uint16_t port) {
    auto pid = net::testbed::start_agent_server(agent, ns, {"netbench-server", std::to_string(port), "--bind", bind});
    if (!pid) return fail(pid.error());
    return HostProcess(*pid);
}

}  // namespace

namespace {

Result<Path> loopback_path(const std::string& agent, Lab::Parts& parts) {
    auto port = free_port();
    if (!port) return fail(port.error());
    auto server = agent_server(agent, "", "127.0.0.1", *port);
    if (!server) return fail(server.error());
    parts.loop_server = std::move(*server);
    Path p{"loopback", {{"what", "host network namespace, 127.0.0.1 on lo: the bare baseline"}}, {}, {}, {}};
    p.client = [agent, port = *port](const std::string& mode, const std::vector<std::string>& extra) {
        return agent_client(agent, "", mode, "127.0.0.1", port, extra);
    };
    if (auto s = add_links(p, {{"lo (host)", "", "lo"}}); !s) return fail(s.error());
    return p;
}

Result<Path> netns_path(const std::string& agent, Lab::Parts& parts) {
    auto pair = NetnsPair::create();
    if (!pair) return fail(pair.error());
    parts.pair.emplace(std::move(*pair));
    auto server = agent_server(agent, parts.pair->ns_b(), NetnsPair::kAddrB, kServerPort);
    if (!server) return fail(server.error());
    parts.pair_server = std::move(*server);
    Path p{"netns-veth",
           {{"what", fmt::format("two network namespaces joined by the veth pair {}/{}, {} -> {}", parts.pair->link_a(),
                                 parts.pair->link_b(), NetnsPair::kAddrA, NetnsPair::kAddrB)}},
           {}, {}, {}};
    std::string ns_a = parts.pair->ns_a();
    p.client = [agent, ns_a](const std::string& mode, const std::vector<std::string>& extra) {
        return agent_client(agent, ns_a, mode, NetnsPair::kAddrB, kServerPort, extra);
    };
    if (auto s = add_links(p, {{parts.pair->link_a(), ns_a, parts.pair->link_a()},
                               {parts.pair->link_b(), parts.pair->ns_b(), parts.pair->link_b()}});
        !s)
        return fail(s.error());
    return p;
}

Result<Path> bridge_path(const Fixture& f, Lab::Parts& parts) {
    if (!parts.rt) return fail(plain_error("bridge path", "runtime", "no runtime CLI"));
    std::string tag = std::to_string(::getpid());
    auto server_net = Attached::attach({.container_id = "ctbvs-" + tag});
    if (!server_net) return fail(server_net.error());
    parts.attachments.push_back(std::move(*server_net));
    auto client_net = Attached::attach({.container_id = "ctbvc-" + tag});
    if (!client_net) return fail(client_net.error());
    parts.attachments.push_back(std::move(*client_net));
    const net::Attachment& s = *parts.attachments[parts.attachments.size() - 2];
    const net::Attachment& c = *parts.attachments.back();
    auto server = ServerContainer::start(*parts.rt, f, s, kServerPort, "ctbvsrv-" + tag);
    if (!server) return fail(server.error());
    parts.servers.push_back(std::move(*server));
    Path p{"bridge",
           {{"what", fmt::format("container {} -> container {} over the default bridge {} ({} containers)",
                                 bare(c.address4), bare(s.address4), s.bridge, parts.rt->name)}},
           {}, {}, {}};
    auto counter = std::make_shared<int>(0);
    p.client = [rt = *parts.rt, &f, c, target = bare(s.address4), tag, counter](
                   const std::string& mode, const std::vector<std::string>& extra) {
        std::vector<std::string> args{"netbench-client", mode, target, std::to_string(kServerPort)};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_client_container(rt, f, c, fmt::format("ctbvcli-{}-{}", tag, (*counter)++), args);
    };
    if (auto st = add_links(p, {{s.bridge, "", s.bridge},
                                {s.host_link + " (server veth)", "", s.host_link},
                                {c.host_link + " (client veth)", "", c.host_link},
                                {"eth0 (server)", s.netns_path, "eth0"},
                                {"eth0 (client)", c.netns_path, "eth0"}});
        !st)
        return fail(st.error());
    return p;
}

// Host -> container through a published port (TCP and UDP on the same host port), in `network`.
Result<Path> published_path(const std::string& name, const std::string& network, const std::string& agent,
                            const Fixture& f, Lab::Parts& parts) {
    if (!parts.rt) return fail(plain_error(name + " path", "runtime", "no runtime CLI"));
    auto host_port = free_port();
    if (!host_port) return fail(host_port.error());
    std::string tag = fmt::format("{}-{}", name == "published-nat" ? "n" : "p", ::getpid());
    net::AttachRequest request{.container_id = "ctbvp" + tag, .network = network};
    for (const char* proto : {"tcp", "udp"}) {
        auto r = net::parse_publish(fmt::format("{}:{}/{}", *host_port, kServerPort, proto));
        if (!r) return fail(r.error());
        request.publish.push_back(*r);
    }
    auto attached = Attached::attach(request);
    if (!attached) return fail(attached.error());
    parts.attachments.push_back(std::move(*attached));
    const net::Attachment& a = *parts.attachments.back();
    auto server = ServerContainer::start(*parts.rt, f, a, kServerPort, "ctbvsrv" + tag);
    if (!server) return fail(server.error());
    parts.servers.push_back(std::move(*server));
    // The bridge's gateway: a host address, so the host's own traffic takes the publishing path
    // (DNAT in nft's output hook, or the proxy listening on every host address).
    std::string gateway = bare(a.gateway4);
    Path p{name,
           {{"what", fmt::format("host -> {}:{} published to container {}:{} ({}, {} container)", gateway, *host_port,
                                 bare(a.address4), kServerPort, net::to_string(a.proxy), parts.rt->name)}},
           {}, {}, {}};
    p.client = [agent, gateway, port = *host_port](const std::string& mode, const std::vector<std::string>& extra) {
        return agent_client(agent, "", mode, gateway, port, extra);
    };
    if (auto st = add_links(p, {{"lo (host)", "", "lo"},
                                {a.bridge, "", a.bridge},
                                {a.host_link + " (server veth)", "", a.host_link},
                                {"eth0 (server)", a.netns_path, "eth0"}});
        !st)
        return fail(st.error());
    return p;
}

}  // namespace

Result<std::unique_ptr<Lab>> Lab::build(const std::string& runtime) {
    std::unique_ptr<Lab> lab(new Lab());
    auto f = make_fixture("bench-veth");
    if (!f) return fail(f.error());
    lab->fixture_ = *f;
    lab->parts_ = std::make_unique<Parts>();
    Parts& parts = *lab->parts_;
    lab->agent = f->image + kAgentInImage;
    auto rt = cli_runtime(runtime, *f);
    if (rt) {
        parts.rt = *rt;
        lab->runtime_exe = rt->exe;
    } else {
        lab->not_measured.push_back("bridge, published-*: " + rt.error().message());
    }
    // The baseline is required: without it no ratio means anything.
    auto loop = loopback_path(lab->agent, parts);
    if (!loop) return fail(loop.error());
    lab->paths.push_back(std::move(*loop));
    auto keep = [&](const std::string& name, Result<Path> p) {
        if (p) lab->paths.push_back(std::move(*p));
        else lab->not_measured.push_back(name + ": " + p.error().message());
    };
    keep("netns-veth", netns_path(lab->agent, parts));
    if (parts.rt) {
        keep("bridge", bridge_path(*lab->fixture_, parts));
        keep("published-nat", published_path("published-nat", net::kDefaultNetwork, lab->agent, *lab->fixture_, parts));
        auto proxy = OwnNetwork::create(fmt::format("ctbn-veth-{}", ::getpid()), net::ProxyMode::userland);
        if (proxy) {
            parts.proxy_net.emplace(std::move(*proxy));
            keep("published-proxy",
                 published_path("published-proxy", parts.proxy_net->name(), lab->agent, *lab->fixture_, parts));
        } else {
            lab->not_measured.push_back("published-proxy: " + proxy.error().message());
        }
    }
    return lab;
}

pid_t Lab::loopback_server() const { return parts_ ? parts_->loop_server.pid() : 0; }

Lab::~Lab() {
    paths.clear();  // their clients hold copies of attachments, nothing that must go first
    parts_.reset();
    if (fixture_) remove_fixture(*fixture_);
}

}  // namespace ctb::bench::veth

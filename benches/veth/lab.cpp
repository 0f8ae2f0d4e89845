#include "benches/veth/lab.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>
#include <sstream>

#include "benches/harness/spawn.hpp"
#include "common/deadline.hpp"
#include "common/files.hpp"
#include "common/subprocess.hpp"
#include "runtime/network/rtnl.hpp"
#include "runtime/spec/parse.hpp"

namespace ctb::bench::veth {
namespace {

std::string bundle_dir(const Fixture& f, const std::string& id) { return f.dir + "/bundle-" + id; }

// config.json for `agent args...` in the attachment's network namespace, on the shared rootfs.
Result<std::string> write_agent_bundle(const Fixture& f, const net::Attachment& a, const std::string& id,
                                       const std::vector<std::string>& args) {
    spec::Spec s = spec::default_spec();
    s.process.args = {kAgentInImage};
    s.process.args.insert(s.process.args.end(), args.begin(), args.end());
    s.root.path = f.rootfs;
    s.linux.cgroups_path = "/ctbench/" + id;
    if (auto applied = net::apply_to_spec(a, s); !applied) return fail(applied.error());
    std::string dir = bundle_dir(f, id);
    if (auto made = make_dirs(dir, 0700); !made) return fail(made.error());
    if (auto w = write_file(dir + "/config.json", spec::to_json(s).dump(2)); !w) return fail(w.error());
    return dir;
}

void remove_bundle(const Fixture& f, const std::string& id) {
    std::error_code ec;
    std::filesystem::remove_all(bundle_dir(f, id), ec);
}

void delete_container(const CliRuntime& rt, const std::string& id) {
    RunOptions o;
    o.timeout = std::chrono::seconds(10);
    (void)run_process(rt.command({"delete", "--force", id}), o);
}

std::string read_memfd(int fd) {
    std::string out;
    char buf[4096];
    off_t offset = 0;
    ssize_t n = 0;
    while ((n = ::pread(fd, buf, sizeof buf, offset)) > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        offset += n;
    }
    return out;
}

// The last line of `text` that parses as a JSON object (the agent's document; stderr may be mixed in).
nlohmann::json last_json_line(const std::string& text) {
    std::istringstream in(text);
    nlohmann::json found;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line.front() != '{') continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded()) found = j;
    }
    return found;
}

// Whether a TCP socket listens on `port` in this network namespace (/proc/net/tcp and tcp6).
bool listening_on(std::uint16_t port) {
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        auto text = read_file(table);
        if (!text) continue;
        std::istringstream in(*text);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            std::istringstream f(line);
            std::string slot, local, remote, state;
            f >> slot >> local >> remote >> state;
            auto colon = local.rfind(':');
            if (colon == std::string::npos || state != "0A") continue;
            if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) return true;
        }
    }
    return false;
}

}  // namespace

std::vector<std::string> CliRuntime::command(std::vector<std::string> args) const {
    args.insert(args.begin(), {exe, "--root", root});
    return args;
}

Result<CliRuntime> cli_runtime(const std::string& runtime, const Fixture& f) {
    CliRuntime rt{runtime, "", f.dir + "/root"};
    if (runtime == "ctbench") {
        auto exe = find_ctbench_runtime();
        if (!exe) return fail(exe.error());
        rt.exe = *exe;
    } else {
        auto exe = find_executable(runtime);
        if (!exe) return fail(plain_error("runtime", runtime, "no such executable"));
        rt.exe = *exe;
    }
    return rt;
}

Result<Attached> Attached::attach(net::AttachRequest request) {
    auto a = net::attach(request);  // leaves nothing behind when it fails
    if (!a) return fail(a.error());
    return Attached(std::move(*a));
}

Attached::~Attached() {
    if (live_) (void)net::detach(a_.container_id);
}

Result<OwnNetwork> OwnNetwork::create(const std::string& name, net::ProxyMode proxy) {
    net::NetworkOptions o;
    o.name = name;
    o.proxy = proxy;
    auto n = net::create_network(o);
    if (!n) return fail(n.error());
    return OwnNetwork(n->name);
}

OwnNetwork::~OwnNetwork() {
    if (!name_.empty()) (void)net::remove_network(name_, true);
}

Result<ServerContainer> ServerContainer::start(const CliRuntime& rt, const Fixture& f, const net::Attachment& a,
                                               std::uint16_t port, const std::string& id) {
    auto bundle = write_agent_bundle(f, a, id, {"netbench-server", std::to_string(port)});
    if (!bundle) return fail(bundle.error());
    // The detached init inherits this memfd as stdout: its "listening" line lands there.
    UniqueFd out(::memfd_create("ctb-veth-server", MFD_CLOEXEC));
    if (!out) return fail(sys_error("memfd_create", "server container output"));
    ServerContainer c(rt, id, std::move(out));  // from here on its destructor deletes the container
    auto argv = rt.command({"run", "--detach", "--bundle", *bundle, id});
    // The CLI runs with fd 1 and 2 on the memfd, and the container it detaches keeps them.
    pid_t pid = 0;
    std::vector<char*> cargv;
    for (auto& s : argv) cargv.push_back(s.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, c.out_.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, c.out_.get(), 2);
    int rc = ::posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return fail(sys_error("spawn", argv[0], rc));
    int status = 0;
    if (!retry_until(Deadline(std::chrono::seconds(30)), [&] { return ::waitpid(pid, &status, WNOHANG) == pid; })) {
        ::kill(pid, SIGKILL);  // the CLI we started, by pid
        ::waitpid(pid, &status, 0);
        return fail(plain_error("start server container", id, "the runtime did not return within 30 s"));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail(plain_error("start server container", id, fmt::format("{} failed: {}", rt.exe, read_memfd(c.out_.get()))));
    std::string seen;
    if (!retry_until(Deadline(std::chrono::seconds(5)), [&] {
            seen = read_memfd(c.out_.get());
            return seen.find("listening") != std::string::npos;
        }))
        return fail(plain_error("start server container", id, "the agent did not listen within 5 s: " + seen));
    return c;
}

ServerContainer::~ServerContainer() {
    if (id_.empty()) return;
    delete_container(rt_, id_);  // kills the init; it was reparented to pid 1, which reaps it
}

Result<nlohmann::json> run_client_container(const CliRuntime& rt, const Fixture& f, const net::Attachment& a,
                                            const std::string& id, const std::vector<std::string>& args) {
    auto bundle = write_agent_bundle(f, a, id, args);
    if (!bundle) return fail(bundle.error());
    RunOptions o;
    o.timeout = std::chrono::seconds(60);
    auto r = run_process(rt.command({"run", "--bundle", *bundle, id}), o);
    delete_container(rt, id);
    remove_bundle(f, id);
    if (!r) return fail(r.error());
    auto doc = last_json_line(r->output);
    if (!r->exited_ok() || !doc.is_object() || doc.value("ok", false) != true)
        return fail(plain_error("client container", id, fmt::format("exit {}: {}", r->exit_code, r->output.substr(0, 400))));
    return doc;
}

Result<NetnsPair> NetnsPair::create() {
    auto a = net::new_netns();
    if (!a) return fail(a.error());
    auto b = net::new_netns();
    if (!b) return fail(b.error());
    NetnsPair p(std::move(*a), std::move(*b));
    auto rtnl_a = net::Rtnl::open(p.a_.get());
    if (!rtnl_a) return fail(rtnl_a.error());
    std::string a_name = fmt::format("ctbnv{}a", ::getpid()), b_name = fmt::format("ctbnv{}b", ::getpid());
    if (auto s = rtnl_a->create_veth(a_name, b_name, p.b_.get()); !s) return fail(s.error());
    p.link_a_ = a_name;  // ours from here: the destructor deletes it (and so its peer)
    p.link_b_ = b_name;
    auto rtnl_b = net::Rtnl::open(p.b_.get());
    if (!rtnl_b) return fail(rtnl_b.error());
    for (auto [rtnl, link, addr] : {std::tuple{&*rtnl_a, a_name, kAddrA}, std::tuple{&*rtnl_b, b_name, kAddrB}}) {
        if (auto s = rtnl->add_address(link, std::string(addr) + "/24"); !s) return fail(s.error());
        if (auto s = rtnl->set_link_up(link, true); !s) return fail(s.error());
        if (auto s = rtnl->set_link_up("lo", true); !s) return fail(s.error());
    }
    return p;
}

NetnsPair::~NetnsPair() {
    if (link_a_.empty() || !a_) return;
    if (auto rtnl = net::Rtnl::open(a_.get())) (void)rtnl->delete_link(link_a_);
}

void HostProcess::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);  // our own child, by pid
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = 0;
}

Result<HostProcess> start_listening_tool(const std::vector<std::string>& argv, std::uint16_t port) {
    auto exe = find_executable(argv.at(0));
    if (!exe) return fail(plain_error("find", argv[0], "not installed"));
    std::vector<std::string> args = argv;
    args[0] = *exe;
    std::vector<char*> cargv;
    for (auto& s : args) cargv.push_back(s.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (int fd : {0, 1, 2}) posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return fail(sys_error("spawn", *exe, rc));
    HostProcess p(pid);
    bool exited = false;
    bool up = retry_until(Deadline(std::chrono::seconds(5)), [&] {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) exited = true;
        return exited || listening_on(port);
    });
    if (exited) {
        p.forget();  // already reaped
        return fail(plain_error("start", fmt::format("{} on port {}", argv[0], port), "exited before listening (port busy?)"));
    }
    if (!up) return fail(plain_error("start", fmt::format("{} on port {}", argv[0], port), "not listening within 5 s"));
    return p;
}

Result<std::uint16_t> free_port() {
    UniqueFd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (!tcp || !udp || ::bind(tcp.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::getsockname(tcp.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        ::bind(udp.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
        return fail(sys_error("bind", "127.0.0.1:0 (TCP and UDP)"));
    return ntohs(addr.sin_port);
}

}  // namespace ctb::bench::veth

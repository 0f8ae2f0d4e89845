// ctbench-runtime: the reference runtime's OCI CLI. It follows runc's conventions (--root,
// create --bundle B --pid-file F ID, start, state, kill ID SIG, delete [--force], run, exec, ps,
// pause, resume, spec) so that tools which drive runc can drive it.
// Extensions in Docker's style: container networking (create/run --network, -p, -P, --expose,
// --hostname, --network-alias; `network create|ls|rm`; `port ID`). Without any network flag a
// container gets exactly the namespaces its config.json asks for, as before.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

#include "common/files.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/cli/lifecycle_cmds.hpp"
#include "runtime/cli/signals.hpp"
#include "runtime/container/console.hpp"
#include "runtime/container/container.hpp"
#include "runtime/container/rootless.hpp"
#include "runtime/image/image.hpp"
#include "runtime/log.hpp"
#include "runtime/network/engine.hpp"
#include "runtime/spec/parse.hpp"

namespace {

using namespace ctb;
using ctb::container::Container;
using runtime_cli::report;

struct Globals {
    // /run/ctbench/runtime; rootless $XDG_RUNTIME_DIR/ctbench-runtime (rootless.hpp).
    std::string root = container::rootless::default_state_root();
};

struct NetArgs {
    std::string network;  // "" = no networking asked for: the spec's namespaces as they are
    std::string hostname;
    std::vector<std::string> aliases, publish, expose;
    bool publish_all = false;
    // -p or -P alone mean the default network, as with Docker.
    bool given() const { return !network.empty() || !publish.empty() || publish_all; }
};

struct CreateArgs : runtime_cli::ContainerArgs {
    std::vector<std::string> layers;
    bool default_image = false;
    bool detach = false;
    NetArgs net;
};

Result<container::CreateOptions> create_options(const Globals& g, const CreateArgs& a) {
    auto o = runtime_cli::create_options(g.root, a);
    if (!o) return o;
    o->image_layers = a.layers;
    if (a.default_image) {
        auto rootfs = image::ensure_default_image();
        if (!rootfs) return fail(rootfs.error());
        o->image_layers.push_back(*rootfs);
    }
    return o;
}

Result<net::AttachRequest> attach_request(const std::string& id, const NetArgs& a) {
    net::AttachRequest rq;
    rq.container_id = id;
    rq.network = a.network.empty() ? net::kDefaultNetwork : a.network;
    rq.hostname = a.hostname;
    rq.aliases = a.aliases;
    rq.publish_all = a.publish_all;
    for (const auto& p : a.publish) {
        auto r = net::parse_publish(p);
        if (!r) return fail(r.error());
        rq.publish.push_back(*r);
    }
    for (const auto& e : a.expose) {
        auto r = net::parse_expose(e);
        if (!r) return fail(r.error());
        rq.expose.push_back(*r);
    }
    return rq;
}

// Attaches the container's network and points its spec at it. Returns whether it attached
// (false when no network flag was given).
// Rootless: the host's network or one of the container's own (loopback only). A bridge, a veth
// pair, published ports or a pinned netns need root on the host: refused, naming the option.
Result<bool> rootless_network(const NetArgs& a, spec::Spec& spec) {
    auto refuse = [](const std::string& option) -> Result<bool> {
        return fail(plain_error("rootless network", option,
                                fmt::format("not available to a rootless runtime (uid {}): bridges, veth pairs and "
                                            "nft rules need root; use --network none or --network host",
                                            ::geteuid())));
    };
    if (!a.publish.empty()) return refuse("--publish " + a.publish.front());
    if (a.publish_all) return refuse("--publish-all");
    if (!a.aliases.empty()) return refuse("--network-alias");
    if (a.network != "none" && a.network != "host") return refuse("--network " + a.network);
    auto& list = spec.linux.namespaces;
    std::erase_if(list, [](const spec::Namespace& n) { return n.type == "network" || n.type == "net"; });
    if (a.network == "none") list.push_back(spec::Namespace{"network", ""});
    if (!a.hostname.empty()) spec.hostname = a.hostname;
    return false;  // nothing attached: nothing to detach
}

Result<bool> attach_network(const CreateArgs& a, spec::Spec& spec) {
    if (a.net.given() && container::rootless::active()) return rootless_network(a.net, spec);
    if (!a.net.given()) {
        if (!a.net.hostname.empty()) spec.hostname = a.net.hostname;
        return false;
    }
    auto rq = attach_request(a.id, a.net);
    if (!rq) return fail(rq.error());
    auto attached = net::attach(*rq);
    if (!attached) return fail(attached.error());
    for (const auto& note : attached->notes) rtlog::emit("info", note);
    if (auto s = net::apply_to_spec(*attached, spec); !s) {
        (void)net::detach(a.id);
        return fail(s.error());
    }
    return true;
}

// Container::create with the network attached first and detached again if the create fails.
// `networked` says whether a network was attached (so that run knows whether to detach).
Result<Container> create_attached(const Globals& g, const CreateArgs& a, bool* networked = nullptr,
                                  std::optional<runtime_cli::TerminalRelay>* relay = nullptr) {
    auto o = create_options(g, a);
    if (!o) return fail(o.error());
    o->start_at_once = relay != nullptr;  // run: nothing acts between its create and start
    UniqueFd theirs;  // closed on return: the init holds its own copy
    auto terminal = runtime_cli::prepare_terminal(*o, relay && !a.detach, theirs);
    if (!terminal) return fail(terminal.error());
    if (relay && *terminal) relay->emplace(std::move(**terminal));
    auto attached = attach_network(a, o->spec);
    if (!attached) return fail(attached.error());
    if (networked) *networked = *attached;
    auto c = Container::create(*o);
    if (!c && *attached) (void)net::detach(a.id);
    return c;
}

void add_create_flags(CLI::App* cmd, CreateArgs& a) {
    cmd->add_option("id", a.id, "Container id")->required();
    cmd->add_option("-b,--bundle", a.bundle, "Bundle directory (holds config.json)")->capture_default_str();
    cmd->add_option("--pid-file", a.pid_file, "Write the init's pid here");
    cmd->add_option("--console-socket", a.console_socket, "With process.terminal: a unix socket that receives the "
                                                          "pty master (SCM_RIGHTS), as with runc");
    cmd->add_option("--layer", a.layers, "ctbench extension: a read-only image layer (top-most first); the "
                                         "rootfs becomes an overlay of them plus a container layer")
        ->allow_extra_args(false);  // one value per --layer, so `--layer L ID` leaves ID to the positional
    cmd->add_flag("--default-image", a.default_image,
                  "ctbench extension: use the embedded busybox + ctbench-agent image as the bottom layer");
    cmd->add_option("--network", a.net.network, "ctbench extension: none, host, bridge (the default network, ctb0) "
                                                "or a network made by `network create`");
    cmd->add_option("-p,--publish", a.net.publish, "ctbench extension: publish [hostIP:][hostPort:]containerPort"
                                                   "[/tcp|/udp] (ranges as 8000-8010)")
        ->allow_extra_args(false);  // one value per -p, so `-p 80 ID` leaves ID to the positional
    cmd->add_flag("-P,--publish-all", a.net.publish_all, "ctbench extension: publish every --expose port on a random "
                                                         "host port");
    cmd->add_option("--expose", a.net.expose, "ctbench extension: a port the container serves (PORT[-END][/PROTO])")
        ->allow_extra_args(false);
    cmd->add_option("--hostname", a.net.hostname, "ctbench extension: the container's hostname (default with a "
                                                  "network: the id)");
    cmd->add_option("--network-alias", a.net.aliases, "ctbench extension: another name peers resolve it by")
        ->allow_extra_args(false);
}

int cmd_create(const Globals& g, const CreateArgs& a) {
    auto c = create_attached(g, a);
    return report(c ? Status{} : fail(c.error()));
}

// delete, then the network (only once the container is gone: its processes may still use it).
Status delete_and_detach(const Globals& g, const std::string& id, bool force) {
    if (auto d = container::delete_container(g.root, id, force); !d) return d;
    if (container::rootless::active()) return {};  // a rootless container never has a network of the engine's
    return net::detach(id);
}

int cmd_run(const Globals& g, const CreateArgs& a) {
    bool networked = false;
    std::optional<runtime_cli::TerminalRelay> relay;
    auto c = create_attached(g, a, &networked, &relay);
    if (!c) return report(fail(c.error()));
    // This process attached the network or knows it did not: no store to look through then.
    return runtime_cli::run_created(
        *c, a.detach,
        [&] { return networked ? delete_and_detach(g, a.id, true) : c->remove(true); },
        relay ? &*relay : nullptr);
}

// `docker port`: every mapping, or the host endpoints of one container port.
int cmd_port(const std::string& id, const std::string& filter) {
    auto mappings = net::ports(id);
    if (!mappings) return report(fail(mappings.error()));
    std::string wanted = filter.find('/') == std::string::npos && !filter.empty() ? filter + "/tcp" : filter;
    bool found = false;
    for (const auto& m : *mappings) {
        std::string text = net::to_string(m);  // "80/tcp -> 0.0.0.0:8080"
        if (wanted.empty()) fmt::print("{}\n", text);
        else if (text.starts_with(wanted + " -> ")) fmt::print("{}\n", text.substr(wanted.size() + 4));
        else continue;
        found = true;
    }
    if (!found && !wanted.empty())
        return report(fail(plain_error("port", id, "no public port '" + wanted + "' published")));
    return 0;
}

struct NetworkArgs {
    net::NetworkOptions options;
    bool userland_proxy = false;
    std::vector<std::string> names;
    std::string format = "table";
};

int cmd_network_create(NetworkArgs& a) {
    a.options.proxy = a.userland_proxy ? net::ProxyMode::userland : net::ProxyMode::nat;
    auto n = net::create_network(a.options);
    if (!n) return report(fail(n.error()));
    fmt::print("{}\n", n->name);
    return 0;
}

int cmd_network_ls(const std::string& format) {
    auto all = net::list_networks();
    if (!all) return report(fail(all.error()));
    nlohmann::json doc = nlohmann::json::array();
    if (format != "json") fmt::print("{:<20} {:<15} {:<18} {:<22} {:<9} {}\n", "NAME", "BRIDGE", "SUBNET", "SUBNET6", "PROXY", "CONTAINERS");
    for (const auto& n : *all) {
        std::vector<std::string> users;
        for (const auto& [addr, id] : n.leases) users.push_back(id);
        if (format == "json")
            doc.push_back({{"name", n.name}, {"bridge", n.bridge}, {"subnet", n.subnet4}, {"gateway", n.gateway4},
                           {"subnet6", n.subnet6}, {"gateway6", n.gateway6}, {"proxy", net::to_string(n.proxy)},
                           {"containers", users}});
        else
            fmt::print("{:<20} {:<15} {:<18} {:<22} {:<9} {}\n", n.name, n.bridge, n.subnet4, n.subnet6.empty() ? "-" : n.subnet6,
                       net::to_string(n.proxy), users.size());
    }
    if (format == "json") fmt::print("{}\n", doc.dump());
    return 0;
}

int cmd_network_rm(const std::vector<std::string>& names) {
    int rc = 0;
    for (const auto& name : names) {
        if (auto s = net::remove_network(name); !s) rc = report(s);
        else fmt::print("{}\n", name);
    }
    return rc;
}

void add_network_commands(CLI::App& app, NetworkArgs& a, int& rc) {
    auto* network = app.add_subcommand("network", "ctbench extension: manage bridge networks");
    network->require_subcommand(1);
    auto* create = network->add_subcommand("create", "Create a user-defined bridge network");
    create->add_option("name", a.options.name)->required();
    create->add_option("--subnet", a.options.subnet, "IPv4 subnet inside 198.18.0.0/15 (default: a free /24)");
    create->add_flag("--ipv6", a.options.ipv6, "Also give containers IPv6 addresses (from 2001:2::/48)");
    create->add_option("--subnet6", a.options.subnet6, "IPv6 subnet inside 2001:2::/48 (implies --ipv6)");
    create->add_flag("--userland-proxy", a.userland_proxy, "Publish ports through a proxy process, without NAT");
    create->callback([&] {
        a.options.ipv6 = a.options.ipv6 || !a.options.subnet6.empty();
        rc = cmd_network_create(a);
    });
    auto* ls = network->add_subcommand("ls", "List networks");
    ls->add_option("-f,--format", a.format, "table or json")->capture_default_str();
    ls->callback([&] { rc = cmd_network_ls(a.format); });
    auto* rm = network->add_subcommand("rm", "Remove networks (no container may be attached)");
    rm->add_option("name", a.names)->required();
    rm->callback([&] { rc = cmd_network_rm(a.names); });
}

int cmd_ps(const Globals& g, const std::string& id, const std::string& format) {
    auto c = Container::load(g.root, id);
    if (!c) return report(fail(c.error()));
    auto pids = c->processes();
    if (!pids) return report(fail(pids.error()));
    if (format == "json") fmt::print("{}\n", nlohmann::json(*pids).dump());
    else for (pid_t p : *pids) fmt::print("{}\n", p);
    return 0;
}

int cmd_list(const Globals& g) {
    auto ids = container::list_ids(g.root);
    if (!ids) return report(fail(ids.error()));
    fmt::print("{:<24} {:<8} {:<9} {}\n", "ID", "PID", "STATUS", "BUNDLE");
    for (const auto& id : *ids)
        if (auto c = Container::load(g.root, id)) {
            auto s = c->state();
            fmt::print("{:<24} {:<8} {:<9} {}\n", s.id, s.pid, container::to_string(s.status), s.bundle);
        }
    return 0;
}

int cmd_exec(const Globals& g, const std::string& id, const std::string& process_file,
             const std::vector<std::string>& args, const std::string& cwd, const std::vector<std::string>& env,
             std::optional<bool> tty, const std::string& console_socket, const container::ExecOptions& options) {
    auto c = Container::load(g.root, id);
    if (!c) return report(fail(c.error()));
    auto base = spec::load_spec(container::state_dir(g.root, id));
    if (!base) return report(fail(base.error()));
    spec::Process p = base->process;  // the container's identity and capabilities by default
    if (!process_file.empty()) {
        auto loaded = spec::load_process(process_file);
        if (!loaded) return report(fail(loaded.error()));
        p = *loaded;
    } else {
        p.args = args;
        if (!cwd.empty()) p.cwd = cwd;
        for (const auto& e : env) p.env.push_back(e);
        p.terminal = false;  // as runc: the container's own terminal flag is not the exec's
    }
    if (tty) p.terminal = *tty;
    if (!console_socket.empty() && !p.terminal)
        return report(fail(plain_error("exec", "--console-socket", "needs a terminal (-t, or process.terminal in -p)")));
    // As runc: a detached process cannot have this terminal attached, only a console socket's.
    if (options.detach && p.terminal && console_socket.empty())
        return report(fail(plain_error("exec", "--console-socket",
                                       "is required with --detach and a terminal (-t, or process.terminal in -p)")));
    // -t: the caller's terminal, through a pty of the container's devpts (as a foreground run);
    // with --console-socket the master goes to that socket's listener instead (runc's exec).
    std::optional<runtime_cli::TerminalRelay> relay;
    UniqueFd theirs;
    if (!console_socket.empty()) {
        auto connected = container::connect_console_socket(console_socket);
        if (!connected) return report(fail(connected.error()));
        theirs = std::move(*connected);
    } else if (p.terminal) {
        if (auto size = runtime_cli::caller_size()) p.console_size = size;
        auto r = runtime_cli::TerminalRelay::make(theirs);
        if (!r) return report(fail(r.error()));
        relay.emplace(std::move(*r));
        relay->start();
    }
    auto status = container::exec(g.root, id, p, theirs.get(), options);
    if (relay) relay->finish();
    if (!status) return report(fail(status.error()));
    return *status;
}

int cmd_spec(const std::string& bundle, bool rootless) {
    std::string path = bundle + "/config.json";
    if (std::filesystem::exists(path)) return report(fail(plain_error("spec", path, "already exists")));
    spec::Spec s = spec::default_spec();
    if (rootless) container::rootless::to_rootless_spec(s);
    return report(write_file(path, spec::to_json(s).dump(2) + "\n"));
}

}  // namespace

int main(int argc, char** argv) {
    if (auto s = rtlog::open_from_argv(argc, argv); !s) {
        rtlog::error(s.error().message());
        return 2;
    }
    CLI::App app{"ctbench-runtime: the ctbench reference OCI runtime"};
    app.require_subcommand(1);
    Globals g;
    std::string log, log_format;
    bool systemd_cgroup = false;
    app.add_option("--root", g.root, "State directory (rootless: $XDG_RUNTIME_DIR/ctbench-runtime)")->capture_default_str();
    // Opened before parsing (rtlog::open_from_argv); declared here for --help and validation.
    app.add_option("--log", log, "Also write errors and warnings to this file (appended, as runc writes it)");
    app.add_option("--log-format", log_format, "text or json: the --log file's format (runc's; default text)");
    app.add_flag("--systemd-cgroup", systemd_cgroup, "Not supported: ctbench manages cgroupfs directly");
    int rc = 0;

    CreateArgs create_args, run_args;
    auto* create = app.add_subcommand("create", "Create a container (init waits for start)");
    add_create_flags(create, create_args);
    create->callback([&] { rc = cmd_create(g, create_args); });
    auto* run = app.add_subcommand("run", "Create, start, wait for and delete a container");
    add_create_flags(run, run_args);
    run->add_flag("-d,--detach", run_args.detach, "Return once started");
    run->callback([&] { rc = cmd_run(g, run_args); });

    std::string id, sig = "SIGTERM", format = "table", process_file, cwd, bundle = ".";
    bool force = false, all = false;
    std::vector<std::string> env;
    auto* start = app.add_subcommand("start", "Start a created container");
    start->add_option("id", id)->required();
    start->callback([&] { rc = runtime_cli::cmd_start(g.root, id); });
    auto* state = app.add_subcommand("state", "Print the OCI state of a container");
    state->add_option("id", id)->required();
    state->callback([&] { rc = runtime_cli::cmd_state(g.root, id); });
    auto* kill = app.add_subcommand("kill", "Send a signal to the container's init");
    kill->add_option("id", id)->required();
    kill->add_option("signal", sig, "Name (TERM, SIGKILL) or number")->capture_default_str();
    kill->add_flag("-a,--all", all, "Signal every process in the container's cgroup");
    kill->callback([&] { rc = runtime_cli::cmd_kill(g.root, id, sig, all); });
    auto* del = app.add_subcommand("delete", "Delete a container and everything it holds");
    del->add_option("id", id)->required();
    del->add_flag("-f,--force", force, "Kill it first if it still runs");
    del->callback([&] { rc = report(delete_and_detach(g, id, force)); });
    auto* ps = app.add_subcommand("ps", "List the processes of a container");
    ps->add_option("id", id)->required();
    ps->add_option("-f,--format", format, "table or json")->capture_default_str();
    ps->callback([&] { rc = cmd_ps(g, id, format); });
    for (auto [name, freeze] : {std::pair{"pause", true}, std::pair{"resume", false}}) {
        auto* cmd = app.add_subcommand(name, freeze ? "Freeze all processes" : "Thaw all processes");
        cmd->add_option("id", id)->required();
        cmd->callback([&, freeze] {
            auto c = Container::load(g.root, id);
            rc = report(!c ? fail(c.error()) : freeze ? c->pause() : c->resume());
        });
    }
    // runc's convention: options come before the container id, and everything after it is the
    // command, verbatim (a "-c" or "--timeout" of the command is not ours); a "--" may precede it.
    auto* exec = app.add_subcommand("exec", "Run a process in a running container: exec [OPTIONS] ID [--] COMMAND [ARG...]");
    exec->prefix_command();
    exec->add_option("-p,--process", process_file, "process.json (OCI process object)");
    exec->add_option("--cwd", cwd, "Working directory");
    exec->add_option("-e,--env", env, "Extra environment variable (NAME=VALUE, repeatable)")->allow_extra_args(false);
    bool exec_tty = false;
    auto* tty_flag = exec->add_flag("-t,--tty", exec_tty, "Give the process a pty of the container and attach this terminal to it");
    std::string exec_console_socket;
    exec->add_option("--console-socket", exec_console_socket,
                     "With -t: send the pty master to this unix socket (SCM_RIGHTS) instead of attaching this terminal");
    container::ExecOptions exec_options;
    exec->add_flag("-d,--detach", exec_options.detach, "Return as soon as the process runs (it stays in the container)");
    exec->add_option("--pid-file", exec_options.pid_file, "Write the process's host pid to this file");
    exec->callback([&, exec] {
        std::vector<std::string> rest = exec->remaining();
        if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
        if (rest.empty()) {
            rtlog::error("exec: the container ID is required");
            rc = 2;
            return;
        }
        std::string exec_id = rest.front();
        rest.erase(rest.begin());
        if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
        if (rest.empty() && process_file.empty()) {
            rtlog::error("exec: give a COMMAND after the container ID, or --process FILE");
            rc = 2;
            return;
        }
        rc = cmd_exec(g, exec_id, process_file, rest, cwd, env,
                      tty_flag->count() ? std::optional<bool>(exec_tty) : std::nullopt, exec_console_socket, exec_options);
    });
    auto* list = app.add_subcommand("list", "List containers");
    list->callback([&] { rc = cmd_list(g); });
    std::string port_filter;
    auto* port = app.add_subcommand("port", "ctbench extension: list a container's published ports");
    port->add_option("id", id)->required();
    port->add_option("port", port_filter, "Only this container port (PORT[/PROTO])");
    port->callback([&] { rc = cmd_port(id, port_filter); });
    NetworkArgs network_args;
    add_network_commands(app, network_args, rc);
    runtime_cli::register_features(app, rc);
    runtime_cli::register_update(app, g.root, rc);
    auto* specc = app.add_subcommand("spec", "Write a default config.json");
    bool spec_rootless = false;
    specc->add_option("-b,--bundle", bundle, "Bundle directory")->capture_default_str();
    specc->add_flag("--rootless", spec_rootless, "A config for rootless mode (as runc spec --rootless)");
    specc->callback([&] { rc = cmd_spec(bundle, spec_rootless); });

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        rtlog::log_only("error", e.what());
        return 2;
    }
    if (systemd_cgroup) {
        rtlog::error("--systemd-cgroup is not supported");
        return 2;
    }
    return rc;
}

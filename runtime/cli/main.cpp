// ctbench-runtime: the reference runtime's OCI CLI. It follows runc's conventions (--root,
// create --bundle B --pid-file F ID, start, state, kill ID SIG, delete [--force], run, exec, ps,
// pause, resume, spec) so that tools which drive runc can drive it.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

#include "common/files.hpp"
#include "runtime/cli/signals.hpp"
#include "runtime/container/container.hpp"
#include "runtime/image/image.hpp"
#include "runtime/spec/parse.hpp"

namespace {

using namespace ctb;
using ctb::container::Container;

int report(const Status& s) {
    if (s) return 0;
    fmt::print(stderr, "ctbench-runtime: {}\n", s.error().message());
    return 1;
}

struct Globals {
    std::string root = container::kDefaultStateRoot;
};

struct CreateArgs {
    std::string id, bundle = ".", pid_file;
    std::vector<std::string> layers;
    bool default_image = false;
    bool detach = false;
};

Result<container::CreateOptions> create_options(const Globals& g, const CreateArgs& a) {
    container::CreateOptions o;
    o.id = a.id;
    o.bundle = std::filesystem::absolute(a.bundle).lexically_normal().string();
    auto spec = spec::load_spec(o.bundle);
    if (!spec) return fail(spec.error());
    o.spec = *spec;
    o.state_root = g.root;
    o.pid_file = a.pid_file.empty() ? "" : std::filesystem::absolute(a.pid_file).string();
    o.image_layers = a.layers;
    if (a.default_image) {
        auto rootfs = image::ensure_default_image();
        if (!rootfs) return fail(rootfs.error());
        o.image_layers.push_back(*rootfs);
    }
    return o;
}

void add_create_flags(CLI::App* cmd, CreateArgs& a) {
    cmd->add_option("id", a.id, "Container id")->required();
    cmd->add_option("-b,--bundle", a.bundle, "Bundle directory (holds config.json)")->capture_default_str();
    cmd->add_option("--pid-file", a.pid_file, "Write the init's pid here");
    cmd->add_option("--layer", a.layers, "ctbench extension: a read-only image layer (top-most first); the "
                                         "rootfs becomes an overlay of them plus a container layer");
    cmd->add_flag("--default-image", a.default_image,
                  "ctbench extension: use the embedded busybox + ctbench-agent image as the bottom layer");
}

int cmd_create(const Globals& g, const CreateArgs& a) {
    auto o = create_options(g, a);
    if (!o) return report(fail(o.error()));
    auto c = Container::create(*o);
    return report(c ? Status{} : fail(c.error()));
}

int cmd_run(const Globals& g, const CreateArgs& a) {
    auto o = create_options(g, a);
    if (!o) return report(fail(o.error()));
    if (a.detach) {
        auto c = Container::create(*o);
        if (!c) return report(fail(c.error()));
        return report(c->start());
    }
    auto c = Container::create(*o);
    if (!c) return report(fail(c.error()));
    runtime_cli::forward_signals_to(c->pid());
    auto started = c->start();
    Result<int> status = started ? c->wait() : Result<int>(std::unexpected(started.error()));
    auto deleted = container::delete_container(g.root, a.id, true);
    if (!status) return report(fail(status.error()));
    if (!deleted) report(deleted);
    return *status;
}

int cmd_state(const Globals& g, const std::string& id) {
    auto c = Container::load(g.root, id);
    if (!c) return report(fail(c.error()));
    fmt::print("{}\n", container::oci_state_json(c->state()));
    return 0;
}

int cmd_kill(const Globals& g, const std::string& id, const std::string& sig, bool all) {
    auto signal = runtime_cli::parse_signal(sig);
    if (!signal) return report(fail(signal.error()));
    auto c = Container::load(g.root, id);
    if (!c) return report(fail(c.error()));
    return report(c->kill(*signal, all));
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
             const std::vector<std::string>& args, const std::string& cwd, const std::vector<std::string>& env) {
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
    }
    auto status = container::exec(g.root, id, p);
    if (!status) return report(fail(status.error()));
    return *status;
}

int cmd_spec(const std::string& bundle) {
    std::string path = bundle + "/config.json";
    if (std::filesystem::exists(path)) return report(fail(plain_error("spec", path, "already exists")));
    return report(write_file(path, spec::to_json(spec::default_spec()).dump(2) + "\n"));
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ctbench-runtime: the ctbench reference OCI runtime"};
    app.require_subcommand(1);
    Globals g;
    std::string log, log_format;
    bool systemd_cgroup = false;
    app.add_option("--root", g.root, "State directory")->capture_default_str();
    app.add_option("--log", log, "Accepted for runc compatibility; errors go to stderr");
    app.add_option("--log-format", log_format, "Accepted for runc compatibility");
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
    std::vector<std::string> exec_args, env;
    auto* start = app.add_subcommand("start", "Start a created container");
    start->add_option("id", id)->required();
    start->callback([&] {
        auto c = Container::load(g.root, id);
        rc = report(c ? c->start() : fail(c.error()));
    });
    auto* state = app.add_subcommand("state", "Print the OCI state of a container");
    state->add_option("id", id)->required();
    state->callback([&] { rc = cmd_state(g, id); });
    auto* kill = app.add_subcommand("kill", "Send a signal to the container's init");
    kill->add_option("id", id)->required();
    kill->add_option("signal", sig, "Name (TERM, SIGKILL) or number")->capture_default_str();
    kill->add_flag("-a,--all", all, "Signal every process in the container's cgroup");
    kill->callback([&] { rc = cmd_kill(g, id, sig, all); });
    auto* del = app.add_subcommand("delete", "Delete a container and everything it holds");
    del->add_option("id", id)->required();
    del->add_flag("-f,--force", force, "Kill it first if it still runs");
    del->callback([&] { rc = report(container::delete_container(g.root, id, force)); });
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
    auto* exec = app.add_subcommand("exec", "Run a process in a running container");
    exec->add_option("id", id)->required();
    exec->add_option("-p,--process", process_file, "process.json (OCI process object)");
    exec->add_option("--cwd", cwd, "Working directory");
    exec->add_option("-e,--env", env, "Extra environment variable");
    exec->add_option("command", exec_args, "Command and arguments");
    exec->callback([&] { rc = cmd_exec(g, id, process_file, exec_args, cwd, env); });
    auto* list = app.add_subcommand("list", "List containers");
    list->callback([&] { rc = cmd_list(g); });
    auto* specc = app.add_subcommand("spec", "Write a default config.json");
    specc->add_option("-b,--bundle", bundle, "Bundle directory")->capture_default_str();
    specc->callback([&] { rc = cmd_spec(bundle); });

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;
    }
    if (systemd_cgroup) {
        fmt::print(stderr, "ctbench-runtime: --systemd-cgroup is not supported\n");
        return 2;
    }
    return rc;
}

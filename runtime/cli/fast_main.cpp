// ctbench-runtime, the front end: a small static binary that runs the calls an engine makes for
// every container (create, run, start, state, kill, delete) itself, and hands every other
// command line, unchanged, to the full CLI beside it (ctbench-runtime-full: CLI11, networking,
// images, exec, features, update, ps, ...). Why: the full CLI loads about 20 shared libraries
// (nftables, libmnl, libarchive and theirs) at every start, which costs a container start more
// than the runtime's own work; this binary loads none.
//
// Anything this parser does not know exactly — another option, an `--opt=value` form it does
// not take, --help, a missing or extra argument, a network store that delete must look
// through — goes to the full CLI, so behaviour and messages stay those of one implementation
// (runtime/cli/lifecycle_cmds.hpp holds the code both run).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/cli/lifecycle_cmds.hpp"
#include "runtime/container/rootless.hpp"
#include "runtime/log.hpp"
#include "runtime/network/store.hpp"  // its paths only: nothing of the engine is linked

namespace {

using namespace ctb;

struct Command {
    std::string root = container::rootless::default_state_root();
    std::string verb;
    runtime_cli::ContainerArgs args;
    std::vector<std::string> positional;
    bool detach = false, force = false, all = false;
};

// "--name value" or "--name=value" for the options in `names`; advances i past the value.
bool take_value(const std::vector<std::string>& argv, std::size_t& i, std::initializer_list<const char*> names,
                std::string& out) {
    const std::string& a = argv[i];
    for (const char* n : names) {
        std::string name = n;
        if (a == name && i + 1 < argv.size()) {
            out = argv[++i];
            return true;
        }
        if (name.starts_with("--") && a.starts_with(name + "=")) {
            out = a.substr(name.size() + 1);
            return true;
        }
    }
    return false;
}

bool take_flag(const std::string& a, std::initializer_list<const char*> names, bool& out) {
    for (const char* n : names)
        if (a == n) return out = true;
    return false;
}

// The options each verb takes on the fast path; false for anything else.
bool parse_verb_option(const std::vector<std::string>& argv, std::size_t& i, Command& c) {
    const std::string& a = argv[i];
    if (c.verb == "create" || c.verb == "run") {
        if (take_value(argv, i, {"-b", "--bundle"}, c.args.bundle)) return true;
        if (take_value(argv, i, {"--pid-file"}, c.args.pid_file)) return true;
        if (take_value(argv, i, {"--console-socket"}, c.args.console_socket)) return true;
        if (c.verb == "run" && take_flag(a, {"-d", "--detach"}, c.detach)) return true;
    }
    if (c.verb == "delete" && take_flag(a, {"-f", "--force"}, c.force)) return true;
    if (c.verb == "kill" && take_flag(a, {"-a", "--all"}, c.all)) return true;
    return false;
}

bool parse(const std::vector<std::string>& argv, Command& c) {
    std::size_t i = 1;
    std::string ignored;
    for (; i < argv.size() && argv[i].starts_with("-"); ++i)
        if (!take_value(argv, i, {"--root"}, c.root) && !take_value(argv, i, {"--log", "--log-format"}, ignored))
            return false;
    if (i == argv.size()) return false;
    c.verb = argv[i++];
    for (; i < argv.size(); ++i) {
        if (!argv[i].starts_with("-")) c.positional.push_back(argv[i]);
        else if (argv[i] == "-" || !parse_verb_option(argv, i, c)) return false;
    }
    std::size_t most = c.verb == "kill" ? 2 : 1;
    if (c.positional.empty() || c.positional.size() > most) return false;
    c.args.id = c.positional.front();
    static const std::vector<std::string> fast{"create", "run", "start", "state", "kill", "delete"};
    return std::find(fast.begin(), fast.end(), c.verb) != fast.end();
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The full CLI: beside this binary.
[[noreturn]] void hand_over(char** argv) {
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    std::string full = "ctbench-runtime-full";
    if (n > 0) {
        std::string path(self, static_cast<std::size_t>(n));
        full = path.substr(0, path.rfind('/') + 1) + full;
    }
    ::execv(full.c_str(), argv);
    rtlog::error("exec " + full + ": " + std::strerror(errno));
    ::_exit(1);
}

int run(Command& c) {
    using runtime_cli::report;
    if (c.verb == "start") return runtime_cli::cmd_start(c.root, c.args.id);
    if (c.verb == "state") return runtime_cli::cmd_state(c.root, c.args.id);
    if (c.verb == "kill")
        return runtime_cli::cmd_kill(c.root, c.args.id, c.positional.size() > 1 ? c.positional[1] : "SIGTERM", c.all);
    if (c.verb == "delete") return report(container::delete_container(c.root, c.args.id, c.force));
    auto o = runtime_cli::create_options(c.root, c.args);
    if (!o) return report(fail(o.error()));
    o->start_at_once = c.verb == "run";  // nothing acts between its create and start
    UniqueFd theirs;
    auto relay = runtime_cli::prepare_terminal(*o, c.verb == "run" && !c.detach, theirs);
    if (!relay) return report(fail(relay.error()));
    auto created = container::Container::create(*o);
    theirs.reset();  // the init holds its own copy: its death now shows as EOF
    if (!created) return report(fail(created.error()));
    if (c.verb == "create") return 0;
    // The delete from the handle's own state (Container::remove), as the library's run does: this
    // process wrote state.json and knows all of it, so reading and parsing it back buys nothing.
    return runtime_cli::run_created(*created, c.detach, [&] { return created->remove(true); },
                                    *relay ? &**relay : nullptr);
}

}  // namespace

int main(int argc, char** argv) {
    // The log is opened by whichever binary runs the command: a handed-over command line reopens
    // it in the full CLI (appending), so this one only checks it when it runs the command itself.
    std::vector<std::string> args(argv, argv + argc);
    Command c;
    if (!parse(args, c)) hand_over(argv);
    // A container with a network attachment (or a pinned netns left by one) is deleted by the
    // full CLI, which detaches it (runtime/network/store.hpp). Rootless, there is none.
    if (c.verb == "delete" && !container::rootless::active() && (exists(net::store::kNetworksDir) || exists(std::string(net::store::kNetnsDir) + "/" + c.args.id)))
        hand_over(argv);
    if (auto s = rtlog::open_from_argv(argc, argv); !s) {
        rtlog::error(s.error().message());
        return 2;
    }
    return run(c);
}

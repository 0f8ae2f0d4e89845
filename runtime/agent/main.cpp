// ctbench-agent entry point: the command table, command-line parsing and dispatch.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

#include "agent.hpp"

namespace agent {
namespace {

struct Command {
    const char* name;
    const char* usage;  // arguments, for --help and usage errors
    const char* help;
    std::size_t min_pos;
    std::size_t max_pos;  // kUnbounded: any number
    std::vector<std::string> value_options;  // --name VALUE
    std::vector<std::string> flag_options;   // --name
    int (*run)(const Args&);
};

constexpr std::size_t kUnbounded = static_cast<std::size_t>(-1);

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"info", "", "report identity, namespaces, capabilities, mounts, network, limits", 0, 0, {}, {}, cmd_info},
        {"alloc", "MIB [--step MIB] [--hold SECONDS]", "allocate and touch memory in steps", 1, 1,
         {"step", "hold"}, {}, cmd_alloc},
        {"fork", "N [--hold SECONDS]", "fork N children that live until the hold ends", 1, 1, {"hold"}, {}, cmd_fork},
        {"spin", "SECONDS", "busy-loop for SECONDS of wall time", 1, 1, {}, {}, cmd_spin},
        {"count", "SECONDS", "count as fast as possible, one {\"count\"} line every 100 ms", 1, 1, {}, {}, cmd_count},
        {"tcp-echo-server", "PORT [--bind ADDR] [--once]", "echo TCP connections", 1, 1, {"bind"}, {"once"},
         cmd_tcp_echo_server},
        {"udp-echo-server", "PORT [--bind ADDR]", "echo UDP datagrams", 1, 1, {"bind"}, {}, cmd_udp_echo_server},
        {"tcp-client", "ADDR PORT MESSAGE [--timeout MS]", "send MESSAGE, expect it echoed", 3, 3, {"timeout"}, {},
         cmd_tcp_client},
        {"udp-client", "ADDR PORT MESSAGE [--timeout MS]", "send MESSAGE, expect it echoed", 3, 3, {"timeout"}, {},
         cmd_udp_client},
        {"tcp-stream-server", "PORT [--bind ADDR] [--once]", "sink TCP streams, report throughput", 1, 1, {"bind"},
         {"once"}, cmd_tcp_stream_server},
        {"tcp-stream-client", "ADDR PORT SECONDS", "stream to a server for SECONDS, report throughput", 3, 3, {}, {},
         cmd_tcp_stream_client},
        {"netbench-server", "PORT [--bind ADDR]",
         "network workload server: TCP stream sink, TCP request/response echo, UDP counter on PORT", 1, 1, {"bind"},
         {}, cmd_netbench_server},
        {"netbench-client", "MODE ADDR PORT [--seconds S] [--bytes N] [--requests N] [--size B]",
         "MODE tcp_stream | udp_stream | tcp_rr against netbench-server; JSON with Mbit/s or us", 3, 3,
         {"seconds", "bytes", "requests", "size"}, {}, cmd_netbench_client},
        {"fileio", "PATH MIB [--fsync] [--block KIB]", "write then read back a file, report rates", 2, 2, {"block"},
         {"fsync"}, cmd_fileio},
        {"iobench", "WORKLOAD PATH [--size MIB] [--reps N] [--ops N] [--mode direct|buffered] [--cache drop|warm] "
                    "[--files N] [--count N] [--op write|chmod]",
         "I/O engine: seqread|seqwrite|randread|randwrite FILE, meta|lookup|copyup DIR; JSON samples", 2, 2,
         {"size", "reps", "ops", "mode", "cache", "files", "count", "op"}, {}, cmd_iobench},
        {"sleep", "SECONDS", "sleep", 1, 1, {}, {}, cmd_sleep},
        {"exit", "CODE", "exit with CODE", 1, 1, {}, {}, cmd_exit},
        {"touch", "PATH", "create PATH (or open it for writing)", 1, 1, {}, {}, cmd_touch},
        {"write", "PATH TEXT", "write TEXT to PATH (truncating)", 2, 2, {}, {}, cmd_write},
        {"cat", "PATH", "read PATH (up to 1 MiB)", 1, 1, {}, {}, cmd_cat},
        {"stat", "PATH", "stat PATH", 1, 1, {}, {}, cmd_stat},
        {"open", "PATH [--write]", "open PATH read-only (or write-only)", 1, 1, {}, {"write"}, cmd_open},
        {"kill", "PID SIG", "send SIG (number or name) to PID", 2, 2, {}, {}, cmd_kill},
        {"sethostname", "NAME", "set the hostname", 1, 1, {}, {}, cmd_sethostname},
        {"mount-tmpfs", "PATH", "mount a tmpfs on PATH", 1, 1, {}, {}, cmd_mount_tmpfs},
        {"setuid-exec", "PATH [ARG...]", "exec PATH (e.g. a setuid copy of the agent)", 1, kUnbounded, {}, {},
         cmd_setuid_exec},
        {"syscall-probe", "NAME", "try one raw system call the seccomp profile promises about", 1, 1, {}, {},
         cmd_syscall_probe},
    };
    return table;
}

void print_help(std::FILE* out) {
    std::fputs("usage: ctbench-agent COMMAND [ARGS]\n"
               "Prints one JSON document per command on stdout; diagnostics on stderr.\n"
               "Exit status: 0 success, 1 the operation failed (see JSON), 2 bad command line.\n\n"
               "commands:\n",
               out);
    for (const auto& c : commands()) std::fprintf(out, "  %-18s %-36s %s\n", c.name, c.usage, c.help);
    std::fprintf(out, "\nsyscall-probe NAME is one of: %s\n", syscall_probe_names().c_str());
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    for (const auto& x : v)
        if (x == s) return true;
    return false;
}

// Options may appear anywhere after the command; "--" makes the rest positional (a MESSAGE may
// start with "--"). Negative numbers ("kill -1 9") are positionals, as they do not start with "--".
Args parse_args(const Command& cmd, int argc, char** argv) {
    Args args;
    bool options_done = false;
    for (int i = 0; i < argc; ++i) {
        std::string tok = argv[i];
        if (!options_done && tok == "--") {
            options_done = true;
        } else if (options_done || !tok.starts_with("--")) {
            args.pos.push_back(tok);
        } else if (auto name = tok.substr(2); contains(cmd.value_options, name)) {
            if (i + 1 >= argc) throw UsageError(std::string(cmd.name) + ": " + tok + " needs a value");
            args.values[name] = argv[++i];
        } else if (contains(cmd.flag_options, name)) {
            args.flags.insert(name);
        } else {
            throw UsageError(std::string(cmd.name) + ": unknown option " + tok);
        }
    }
    if (args.pos.size() < cmd.min_pos || args.pos.size() > cmd.max_pos)
        throw UsageError(std::string(cmd.name) + ": wrong number of arguments; usage: " + cmd.name + " " + cmd.usage);
    return args;
}

[[noreturn]] void exit_on_signal(int sig) { ::_exit(128 + sig); }

void setup_signals() {
    // A peer that goes away must surface as EPIPE from write(), not kill an echo server.
    ::signal(SIGPIPE, SIG_IGN);
    // As PID 1 of a pid namespace the kernel drops signals that have no handler, so `kill` with
    // SIGTERM from the runtime would do nothing; behave like an ordinary process instead.
    if (::getpid() == 1)
        for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::signal(sig, exit_on_signal);
}

int dispatch(int argc, char** argv) {
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    std::string_view name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        print_help(stdout);
        return 0;
    }
    for (const auto& cmd : commands()) {
        if (name != cmd.name) continue;
        Args args = parse_args(cmd, argc - 2, argv + 2);
        return cmd.run(args);
    }
    throw UsageError("unknown command '" + std::string(name) + "' (try --help)");
}

}  // namespace
}  // namespace agent

int main(int argc, char** argv) {
    agent::setup_signals();
    try {
        return agent::dispatch(argc, argv);
    } catch (const agent::UsageError& e) {
        std::fprintf(stderr, "ctbench-agent: %s\n", e.what());
        return 2;
    } catch (const agent::SysError& e) {
        std::fprintf(stderr, "ctbench-agent: %s\n", e.what());
        agent::emit({{"ok", false}, {"error", e.what()}, {"errno", e.err}, {"errno_name", agent::errno_name(e.err)}});
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ctbench-agent: %s\n", e.what());
        agent::emit({{"ok", false}, {"error", e.what()}});
        return 1;
    }
}

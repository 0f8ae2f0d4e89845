// ctbench-agent: the static helper that runs inside containers.
// Contract with the conformance cases and benchmarks that start it:
//  - stdout carries exactly one JSON document per command, on one line (servers add one line per
//    event, `count` one line per sample); diagnostics go to stderr.
//  - exit 0: the operation succeeded; 1: it failed (the JSON says how); 2: bad command line.
// It depends on nothing in the container but the kernel: no NSS (getaddrinfo, getpwnam), numeric
// addresses only, and it links only libc and libstdc++ (statically).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/fd.hpp"

namespace agent {

using json = nlohmann::json;

// The command line of one command, split into positionals, --name VALUE options and --flags.
struct Args {
    std::vector<std::string> pos;
    std::map<std::string, std::string> values;
    std::set<std::string> flags;

    bool flag(const std::string& name) const { return flags.contains(name); }
    std::optional<std::string> value(const std::string& name) const {
        auto it = values.find(name);
        if (it == values.end()) return std::nullopt;
        return it->second;
    }
};

// Bad command-line input: main prints the message and exits 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A system call failed and the command cannot go on: main reports it as JSON and exits 1.
struct SysError : std::runtime_error {
    std::string step;  // "connect", "open /etc/x"
    int err;
    SysError(const std::string& step, int err);
};

// --- helpers (util.cpp) ---
// "EPERM" for EPERM, "errno 4242" for values the C library cannot name.
std::string errno_name(int err);
// Strict integer parse; `what` names the argument in the usage error.
long long parse_int(const std::string& what, const std::string& text, long long min, long long max);
// Non-negative, finite seconds (fractions allowed).
double parse_seconds(const std::string& what, const std::string& text);
// The value of --name parsed as seconds, or `fallback` when absent.
double seconds_option(const Args& args, const std::string& name, double fallback);
// Writes one JSON document as one line on stdout and flushes it (the parent reads line by line).
void emit(const json& doc);
double monotonic_now();
// Sleeps the full duration even when signals interrupt it.
void sleep_seconds(double seconds);
// Whole file (up to max_bytes); throws SysError naming the path.
std::string read_text(const std::string& path, std::size_t max_bytes = 1 << 20);
// {"ok": bool, "errno": n, "errno_name": "EPERM" | null}: the result shape of the small probes.
json probe_result(int err);

// --- sockets (net.cpp), shared by the probes and the network workload engine ---
struct Endpoint {
    sockaddr_storage addr{};
    socklen_t len = 0;
    int family = 0;
};
std::uint16_t parse_port(const std::string& text);
// "198.18.0.2", "::1" or "[::1]"; anything else is a usage error naming ADDR.
Endpoint parse_endpoint(std::string text, std::uint16_t port);
ctb::UniqueFd bound_socket(int type, const Endpoint& ep);
// PORT (args.pos[0]) on --bind ADDR, or dual-stack "::" (0.0.0.0 without IPv6).
ctb::UniqueFd listen_socket(int type, const Args& args);
// Prints {"listening": port, "address": ...}: what a parent waits for before it starts clients.
void announce(int fd);
// Waits for `events` until the deadline (monotonic seconds); ETIMEDOUT when it passes.
void wait_fd(int fd, short events, double deadline, const char* step);
// Non-blocking connect bounded by the deadline; the socket stays non-blocking.
ctb::UniqueFd connect_to(const Endpoint& ep, int type, double deadline);
int accept_one(int listener);

// --- commands: each returns the process exit code ---
int cmd_info(const Args& args);           // info.cpp
json interfaces_json();                   // interfaces.cpp (part of `info`)
int cmd_alloc(const Args& args);          // workloads.cpp
int cmd_fork(const Args& args);
int cmd_spin(const Args& args);
int cmd_count(const Args& args);
int cmd_tcp_echo_server(const Args& args);  // net.cpp
int cmd_udp_echo_server(const Args& args);
int cmd_tcp_client(const Args& args);
int cmd_udp_client(const Args& args);
int cmd_tcp_stream_server(const Args& args);
int cmd_tcp_stream_client(const Args& args);
int cmd_netbench_server(const Args& args);  // netbench.cpp
int cmd_netbench_client(const Args& args);
int cmd_fileio(const Args& args);         // fileio.cpp
int cmd_iobench(const Args& args);        // iobench.cpp (+ iobench_meta.cpp)
int cmd_sleep(const Args& args);          // probes.cpp
int cmd_exit(const Args& args);
int cmd_touch(const Args& args);
int cmd_write(const Args& args);
int cmd_cat(const Args& args);
int cmd_stat(const Args& args);
int cmd_open(const Args& args);
int cmd_kill(const Args& args);
int cmd_sethostname(const Args& args);
int cmd_mount_tmpfs(const Args& args);
int cmd_setuid_exec(const Args& args);
int cmd_syscall_probe(const Args& args);  // syscalls.cpp
std::string syscall_probe_names();         // "clone3, fork, ..." for --help and usage errors

}  // namespace agent

// What the host keeps to itself, each tried from inside a container against a control that shows
// the probe works (conformance/probe/ctbench-probe.cpp makes the raw system calls):
//  - security.escape.ptrace_host: PTRACE_ATTACH and process_vm_readv of a host process fail with
//    ESRCH, for a host pid (this case's own process) and for the host pid of the container's own
//    init: neither number names anything in the container's pid namespace. Control: the same
//    calls on pid 1, a pid the container sees (and which on the host names the host's init),
//    reach the container's init, never the host's (its comm; the host init's TracerPid stays 0).
//  - security.escape.abstract_socket: an abstract unix socket bound on the host under a ctbench
//    name refuses a container in a new network namespace (ECONNREFUSED: abstract names belong
//    to the network namespace), while the host and a container sharing the host's network
//    namespace connect to it.
//  - security.escape.keyring: a "user" key added to the host caller's session keyring is not
//    found by a key search inside the container (ENOKEY), while the caller finds it.
//  - security.escape.dmesg: syslog(2) READ_ALL fails with EPERM without CAP_SYSLOG where the host
//    sets kernel.dmesg_restrict=1; a control container granted CAP_SYSLOG reads the log.
#include <linux/keyctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>

#include <fmt/format.h>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "conformance/probe/probe.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::sec {
namespace {

std::string status_field(const std::string& pid, const std::string& field) {
    auto status = read_file("/proc/" + pid + "/status");
    if (!status) return "";
    auto at = status->find(field + ":");
    if (at == std::string::npos) return "";
    auto end = status->find('\n', at);
    return trim(status->substr(at + field.size() + 1, end - at - field.size() - 1));
}

Verdict ptrace_host(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir scratch("ptrace");
    RunRequest req{agent_spec({"sleep", "20"})};
    req.extra_layers = {probe_layer(scratch)};
    Started c = must_start(*rt, req);
    std::string host_pid = std::to_string(::getpid()), init_host_pid = std::to_string(c->pid());
    auto r = must(exec_probes(*c, {{"attach_host", probe_argv({"ptrace", host_pid})},
                                   {"vm_read_host", probe_argv({"vm-read", host_pid})},
                                   {"attach_init_host_pid", probe_argv({"ptrace", init_host_pid})},
                                   {"vm_read_init_host_pid", probe_argv({"vm-read", init_host_pid})},
                                   {"seize_1", probe_argv({"ptrace", "1", "--seize"})},
                                   {"vm_read_1", probe_argv({"vm-read", "1"})}}),
                  "run the probes");
    std::string host_init_comm = trim(read_file("/proc/1/comm").value_or(""));
    std::string host_init_tracer = status_field("1", "TracerPid");
    json e = {{"host_pid", host_pid}, {"container_init_host_pid", init_host_pid},
              {"host_init_comm", host_init_comm}, {"host_init_tracer_pid_after", host_init_tracer}};
    for (const auto& p : r) e[p.name] = p.evidence();
    // Control: ptrace and process_vm_readv work in this container at all, so ESRCH below is the
    // pid namespace's doing (not a filter or a missing capability).
    require(find(r, "seize_1")->ok() && find(r, "vm_read_1")->ok(), "control", "pid 1 of the container",
            "ptrace/process_vm_readv of the container's own init failed, nothing told apart: " + e.dump());
    Checks checks;
    for (const char* n : {"attach_host", "vm_read_host"})
        checks.expect(find(r, n)->errno_name() == "ESRCH",
                      fmt::format("{} of a host process (pid {}) from the container did not fail with ESRCH", n, host_pid));
    for (const char* n : {"attach_init_host_pid", "vm_read_init_host_pid"})
        checks.expect(find(r, n)->errno_name() == "ESRCH",
                      fmt::format("{} of the init's host pid {} from the container did not fail with ESRCH", n, init_host_pid));
    std::string traced = find(r, "seize_1")->doc.value("tracee_comm", "");
    checks.expect(traced == "ctbench-agent", "pid 1 inside the container is not the container's init (comm " + traced + ")");
    checks.expect(host_init_tracer == "0", "the host's init is traced (TracerPid " + host_init_tracer + ")");
    return checks.verdict(e);
}

// An abstract AF_UNIX listener in the caller's (the host's) network namespace, closed on every path.
UniqueFd abstract_listener(const std::string& name) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) setup_failed(sys_error("socket", "AF_UNIX"));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::copy(name.begin(), name.end(), addr.sun_path + 1);
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    check_sys(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len), "bind", "@" + name);
    check_sys(::listen(fd.get(), 16), "listen", "@" + name);
    return fd;
}

int host_connect(const std::string& name) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::copy(name.begin(), name.end(), addr.sun_path + 1);
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    return errno_of(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len));
}

spec::Spec without_namespace(spec::Spec s, const std::string& type) {
    std::erase_if(s.linux.namespaces, [&](const spec::Namespace& n) { return n.type == type; });
    return s;
}

Verdict abstract_socket(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir scratch("abstract");
    std::string layer = probe_layer(scratch);
    std::string name = fmt::format("ctbench-{}-abstract", ::getpid());
    UniqueFd listener = abstract_listener(name);
    int from_host = host_connect(name);
    std::vector<Probe> connect{{"connect", probe_argv({"abstract-connect", name})}};
    auto isolated = must(run_probes(*rt, agent_spec({}), connect, {layer}), "container with a new network namespace");
    auto shared = must(run_probes(*rt, without_namespace(agent_spec({}), "network"), connect, {layer}),
                       "control container in the host's network namespace");
    json e = {{"socket", "@" + name}, {"host_connect", err_name(from_host)},
              {"new_netns", find(isolated, "connect")->evidence()},
              {"host_netns_control", find(shared, "connect")->evidence()}};
    require(from_host == 0 && find(shared, "connect")->ok(), "control", "@" + name,
            "the host or a container in the host's network namespace could not connect: " + e.dump());
    Checks checks;
    checks.expect(find(isolated, "connect")->errno_name() == "ECONNREFUSED",
                  "a container in a new network namespace reached the host's abstract unix socket (or did not get "
                  "ECONNREFUSED)");
    return checks.verdict(e);
}

// A session keyring of this case process alone (named, so it is recognisable), holding one
// "user" key; the key is invalidated and the keyring left on every path.
class HostKey {
public:
    explicit HostKey(const std::string& desc) {
        std::string ring = "ctbench-" + std::to_string(::getpid()) + "-session";
        session_ = ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, ring.c_str());
        if (session_ < 0) setup_failed(sys_error("keyctl JOIN_SESSION_KEYRING", ring));
        key_ = ::syscall(SYS_add_key, "user", desc.c_str(), "ctbench", 7, KEY_SPEC_SESSION_KEYRING);
        if (key_ < 0) setup_failed(sys_error("add_key user", desc));
    }
    HostKey(const HostKey&) = delete;
    HostKey& operator=(const HostKey&) = delete;
    ~HostKey() {
        if (key_ > 0) ::syscall(SYS_keyctl, KEYCTL_INVALIDATE, key_);
        ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr);  // an anonymous one: ours is dropped
    }
    long session() const { return session_; }
    long key() const { return key_; }

private:
    long session_ = -1, key_ = -1;
};

Verdict keyring(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir scratch("keyring");
    std::string layer = probe_layer(scratch);
    std::string desc = fmt::format("ctbench-{}-key", ::getpid());
    HostKey key(desc);
    long found = ::syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", desc.c_str(), 0);
    require(found == key.key(), "control", desc, "the caller cannot find its own key in its session keyring");
    auto r = must(run_probes(*rt, agent_spec({}), {{"search", probe_argv({"keyring", desc})}}, {layer}), "run the probe");
    const auto* s = find(r, "search");
    json e = {{"key", desc}, {"host_session_keyring", key.session()}, {"host_key", key.key()}, {"container", s->evidence()}};
    Checks checks;
    checks.expect(!s->ok(), fmt::format("the container found the host's key {} (the session keyring is shared with the "
                                        "host caller)", desc));
    checks.expect(s->errno_name() == "ENOKEY" || s->ok(), "the key search inside failed with " + s->errno_name() +
                                                               ", not ENOKEY (keyctl blocked? nothing told apart)");
    checks.expect(s->doc.value("session_keyring", 0L) != key.session(),
                  "the container's session keyring is the host caller's");
    return checks.verdict(e);
}

Verdict dmesg(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir scratch("dmesg");
    std::string layer = probe_layer(scratch);
    std::vector<Probe> read{{"syslog", probe_argv({"syslog"})}};
    auto plain = must(run_probes(*rt, agent_spec({}), read, {layer}), "default container");
    spec::Spec granted = agent_spec({});
    grant_capability(granted, "CAP_SYSLOG");
    auto control = must(run_probes(*rt, granted, read, {layer}), "control container with CAP_SYSLOG");
    json e = {{"default", find(plain, "syslog")->evidence()}, {"with_cap_syslog", find(control, "syslog")->evidence()}};
    require(find(control, "syslog")->ok(), "control", "syslog(2)", "a container with CAP_SYSLOG could not read the log: " + e.dump());
    Checks checks;
    checks.expect(find(plain, "syslog")->errno_name() == "EPERM",
                  "syslog(2) READ_ALL without CAP_SYSLOG did not fail with EPERM (kernel.dmesg_restrict=1)");
    return checks.verdict(e);
}

std::vector<Requirement> isolation_needs() { return {{K::root, ""}, {K::namespace_type, "pid"}}; }

CTB_CONFORMANCE_CASE({
    .id = "security.escape.ptrace_host",
    .reference = "ptrace(2) PTRACE_ATTACH ESRCH; process_vm_readv(2); pid_namespaces(7); OCI runtime-spec config-linux.md#namespaces",
    .needs = isolation_needs(),
    .body = ptrace_host,
});
CTB_CONFORMANCE_CASE({
    .id = "security.escape.abstract_socket",
    .reference = "unix(7) Abstract sockets (bound to the network namespace); network_namespaces(7)",
    .needs = {{K::root, ""}, {K::namespace_type, "network"}},
    .body = abstract_socket,
});
CTB_CONFORMANCE_CASE({
    .id = "security.escape.keyring",
    .reference = "keyrings(7), session-keyring(7); keyctl(2) KEYCTL_SEARCH; runc and crun join a new session keyring per container",
    .needs = {{K::root, ""}},
    .body = keyring,
});
CTB_CONFORMANCE_CASE({
    .id = "security.escape.dmesg",
    .reference = "syslog(2) EPERM without CAP_SYSLOG; proc(5) /proc/sys/kernel/dmesg_restrict",
    .needs = {{K::root, ""}, {K::sysctl, "kernel/dmesg_restrict=1"}},
    .body = dmesg,
});

}  // namespace
}  // namespace ctb::conformance::sec

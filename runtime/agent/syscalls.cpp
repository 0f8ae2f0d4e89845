// `syscall-probe NAME`: one system call the default seccomp profile makes a promise about
// (runtime/security/default_profile.cpp), tried once, reported as {"ok", "errno", "errno_name",
// "probe", "syscall"} plus what came back (a serial, a persona, a child's status).
//
// Every probe goes through syscall(2) with the raw number, never through a libc wrapper: glibc
// falls back from clone3 to clone on ENOSYS (pthread_create, posix_spawn) and may pick another
// system call than the one named (socketcall on i386), which would hide what the filter said.
// The one exception is `thread`, which is there to show exactly that libc path working.
//
// Nothing a probe creates outlives it or leaves the container: children exit at once and are
// reaped, sockets are closed, the persona is restored, a key goes to the process keyring (which
// dies with the process).
#include <linux/keyctl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "agent.hpp"

namespace agent {
namespace {

struct Outcome {
    int err = 0;                      // 0: the call succeeded
    json extra = json::object();      // what the call returned, for the evidence
};

Outcome from(long rc, json extra = json::object()) {
    return {rc < 0 ? errno : 0, std::move(extra)};
}

// The parent side of a fork-like clone: the child only _exit(0)s, so anything but a clean exit
// is reported too (a probe must not mistake a crashed child for a working clone).
Outcome reap(long pid) {
    if (pid < 0) return {errno, json::object()};
    int status = 0;
    while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0)
        if (errno != EINTR) return {errno, {{"step", "waitpid"}}};
    json extra{{"child_exit", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)}};
    return {0, std::move(extra)};
}

// clone(2) as the raw system call with the exit signal SIGCHLD and no new stack: the child runs
// on its copy of our stack (no CLONE_VM), as after fork(), and exits at once without touching
// libc state. The x86_64 argument order is (flags, stack, parent_tid, child_tid, tls); s390
// swaps the first two, which the profile accounts for too.
Outcome raw_clone(unsigned long flags) {
#if defined(__s390__) || defined(__s390x__)
    long pid = ::syscall(SYS_clone, 0UL, flags | SIGCHLD, nullptr, nullptr, 0UL);
#else
    long pid = ::syscall(SYS_clone, flags | SIGCHLD, 0UL, nullptr, nullptr, 0UL);
#endif
    if (pid == 0) ::_exit(0);
    return reap(pid);
}

// struct clone_args of <linux/sched.h>, version 0 (64 bytes). Spelled out because that header
// redefines glibc's CLONE_* macros.
struct CloneArgsV0 {
    std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};
static_assert(sizeof(CloneArgsV0) == 64);

Outcome raw_clone3() {
#ifdef SYS_clone3
    CloneArgsV0 args{};
    args.exit_signal = SIGCHLD;
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) ::_exit(0);
    return reap(pid);
#else
    return {ENOSYS, {{"note", "this agent was built without SYS_clone3"}}};
#endif
}

// A thread through libc: glibc >= 2.34 tries clone3 and falls back to clone(CLONE_VM|...) on
// ENOSYS, which is why the profile answers clone3 with ENOSYS rather than EPERM.
Outcome libc_thread() {
    pthread_t t{};
    int err = ::pthread_create(&t, nullptr, [](void*) -> void* { return nullptr; }, nullptr);
    if (err != 0) return {err, {{"step", "pthread_create"}}};
    err = ::pthread_join(t, nullptr);
    return {err, err ? json{{"step", "pthread_join"}} : json::object()};
}

Outcome raw_socket(int family, int type) {
    long fd = ::syscall(SYS_socket, family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return {errno, json::object()};
    ::close(static_cast<int>(fd));
    return {0, json::object()};
}

// Sets a persona and puts the previous one back (the agent runs on in the same process).
Outcome raw_personality(unsigned long persona) {
    long old = ::syscall(SYS_personality, persona);
    if (old < 0) return {errno, json::object()};
    ::syscall(SYS_personality, static_cast<unsigned long>(old));
    return {0, {{"previous", old}}};
}

// The same key type for add_key and request_key: "user" is always built into the kernel.
Outcome raw_add_key() {
    static const char payload[] = "ctb";
    long serial = ::syscall(SYS_add_key, "user", "ctb-seccomp-probe", payload, sizeof payload - 1,
                            KEY_SPEC_PROCESS_KEYRING);
    return from(serial, serial >= 0 ? json{{"serial", serial}} : json::object());
}

// No callout information: a missing key is ENOKEY from the kernel, never an upcall.
Outcome raw_request_key() {
    long serial = ::syscall(SYS_request_key, "user", "ctb-seccomp-no-such-key", nullptr, 0);
    return from(serial, serial >= 0 ? json{{"serial", serial}} : json::object());
}

Outcome raw_keyctl() {
    long id = ::syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    return from(id, id >= 0 ? json{{"keyring", id}} : json::object());
}

struct SyscallProbe {
    const char* name;
    const char* syscall;  // what was tried, for the evidence
    Outcome (*run)();
};

// CLONE_NEW* one at a time: the profile's mask must catch each bit, not only their union.
const SyscallProbe kProbes[] = {
    {"clone3", "clone3({exit_signal=SIGCHLD})", [] { return raw_clone3(); }},
    {"fork", "clone(SIGCHLD)", [] { return raw_clone(0); }},
    {"thread", "pthread_create (libc: clone3, then clone on ENOSYS)", [] { return libc_thread(); }},
    {"clone-newns", "clone(CLONE_NEWNS|SIGCHLD)", [] { return raw_clone(CLONE_NEWNS); }},
    {"clone-newuts", "clone(CLONE_NEWUTS|SIGCHLD)", [] { return raw_clone(CLONE_NEWUTS); }},
    {"clone-newipc", "clone(CLONE_NEWIPC|SIGCHLD)", [] { return raw_clone(CLONE_NEWIPC); }},
    {"clone-newuser", "clone(CLONE_NEWUSER|SIGCHLD)", [] { return raw_clone(CLONE_NEWUSER); }},
    {"clone-newpid", "clone(CLONE_NEWPID|SIGCHLD)", [] { return raw_clone(CLONE_NEWPID); }},
    {"clone-newnet", "clone(CLONE_NEWNET|SIGCHLD)", [] { return raw_clone(CLONE_NEWNET); }},
    {"clone-newcgroup", "clone(CLONE_NEWCGROUP|SIGCHLD)", [] { return raw_clone(CLONE_NEWCGROUP); }},
    {"keyctl", "keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)", [] { return raw_keyctl(); }},
    {"add_key", "add_key(\"user\", ..., KEY_SPEC_PROCESS_KEYRING)", [] { return raw_add_key(); }},
    {"request_key", "request_key(\"user\", <missing>, NULL, 0)", [] { return raw_request_key(); }},
    {"socket-vsock", "socket(AF_VSOCK, SOCK_STREAM, 0)", [] { return raw_socket(AF_VSOCK, SOCK_STREAM); }},
    {"socket-inet", "socket(AF_INET, SOCK_STREAM, 0)", [] { return raw_socket(AF_INET, SOCK_STREAM); }},
    {"socket-unix", "socket(AF_UNIX, SOCK_STREAM, 0)", [] { return raw_socket(AF_UNIX, SOCK_STREAM); }},
    // PER_BSD is outside the profile's persona allow-list; PER_LINUX32 and the query are inside.
    {"personality-bad", "personality(PER_BSD)", [] { return raw_personality(PER_BSD); }},
    {"personality-linux32", "personality(PER_LINUX32)", [] { return raw_personality(PER_LINUX32); }},
    {"personality-query", "personality(0xffffffff)", [] { return raw_personality(0xffffffffUL); }},
};

}  // namespace

std::string syscall_probe_names() {
    std::string names;
    for (const auto& p : kProbes) names += (names.empty() ? "" : ", ") + std::string(p.name);
    return names;
}

int cmd_syscall_probe(const Args& args) {
    for (const auto& p : kProbes) {
        if (args.pos[0] != p.name) continue;
        errno = 0;
        Outcome o = p.run();
        json doc = probe_result(o.err);
        doc["probe"] = p.name;
        doc["syscall"] = p.syscall;
        doc.update(o.extra);
        emit(doc);
        return o.err == 0 ? 0 : 1;
    }
    throw UsageError("syscall-probe: unknown probe '" + args.pos[0] + "' (one of: " + syscall_probe_names() + ")");
}

}  // namespace agent

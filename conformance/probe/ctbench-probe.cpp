// ctbench-probe: the static helper some conformance cases put into a container (as an extra image
// layer, conformance/probe/probe.hpp) to try one system call that ctbench-agent does not make:
// ptrace and process_vm_readv of a pid, connect to an abstract unix socket, a key search in the
// session keyring, syslog(2), and RLIMIT_CORE (raise the hard limit, dump a core).
//
// It lives in conformance/ (not in the agent, which belongs to the runtime) because these are the
// escapes the cases look for, not workloads. Contract, as the agent's: one JSON object on one line
// on stdout, exit 0 when the call succeeded, 1 when it failed (the JSON says how), 2 bad usage.
// It uses libc only (static): the busybox rootfs has no shared libraries.
#include <fcntl.h>
#include <linux/keyctl.h>
#include <signal.h>
#include <sys/klog.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::string err_name(int err) {
    if (err == 0) return "ok";
    const char* n = ::strerrorname_np(err);
    return n ? n : "errno " + std::to_string(err);
}

// Only printable ASCII survives, and never a quote or backslash: the JSON is built by hand.
std::string clean(const std::string& s) {
    std::string out;
    for (char c : s)
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') out += c;
    return out;
}

// {"probe": NAME, "ok": .., "errno_name": .., <extra>}; returns the exit code.
int emit(const char* probe, int err, const std::string& extra = "") {
    std::printf("{\"probe\":\"%s\",\"ok\":%s,\"errno\":%d,\"errno_name\":\"%s\"%s%s}\n", probe, err ? "false" : "true",
                err, err_name(err).c_str(), extra.empty() ? "" : ",", extra.c_str());
    std::fflush(stdout);
    return err ? 1 : 0;
}

std::string first_line(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "re");
    if (!f) return "";
    char buf[256] = {};
    if (!std::fgets(buf, sizeof buf, f)) buf[0] = 0;
    std::fclose(f);
    std::string s = buf;
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

pid_t parse_pid(const char* text) {
    char* end = nullptr;
    long v = std::strtol(text, &end, 10);
    if (!*text || *end || v <= 0 || v > 0x3fffffff) {
        std::fprintf(stderr, "ctbench-probe: PID must be a positive integer, got '%s'\n", text);
        std::exit(2);
    }
    return static_cast<pid_t>(v);
}

// PTRACE_ATTACH (or PTRACE_SEIZE, which sends no SIGSTOP: a pid namespace's init ignores the
// stop an attach sends, and waiting for it would hang). On success the tracee's comm, as this
// process sees it, is reported, and the tracee is released.
int cmd_ptrace(pid_t pid, bool seize) {
    long rc = seize ? ::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) : ::ptrace(PTRACE_ATTACH, pid, nullptr, nullptr);
    if (rc != 0) return emit("ptrace", errno);
    if (!seize) {
        int status = 0;
        while (::waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
        }
    }
    std::string comm = clean(first_line("/proc/" + std::to_string(pid) + "/comm"));
    ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
    return emit("ptrace", 0, "\"request\":\"" + std::string(seize ? "PTRACE_SEIZE" : "PTRACE_ATTACH") +
                                 "\",\"tracee_comm\":\"" + comm + "\"");
}

// process_vm_readv of 16 bytes at the start of the target's first mapping (from its maps; an
// address of 0x1000 when the maps are unreadable: the permission check comes before the copy).
int cmd_vm_read(pid_t pid) {
    unsigned long addr = 0x1000;
    std::string line = first_line("/proc/" + std::to_string(pid) + "/maps");
    if (!line.empty()) addr = std::strtoul(line.c_str(), nullptr, 16);
    char buf[16];
    iovec local{buf, sizeof buf}, remote{reinterpret_cast<void*>(addr), sizeof buf};
    ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n < 0) return emit("vm-read", errno);
    return emit("vm-read", 0, "\"bytes\":" + std::to_string(n));
}

// connect(2) to the abstract address "\0NAME" (unix(7) "Abstract sockets").
int cmd_abstract_connect(const std::string& name) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return emit("abstract-connect", errno, "\"step\":\"socket\"");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (name.size() + 1 > sizeof addr.sun_path) {
        std::fprintf(stderr, "ctbench-probe: NAME is too long\n");
        return 2;
    }
    std::memcpy(addr.sun_path + 1, name.data(), name.size());
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    int err = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 ? 0 : errno;
    ::close(fd);
    return emit("abstract-connect", err);
}

// The session keyring's serial (not created when there is none) and a search in it for a
// "user" key named DESC (keyrings(7); keyctl_search(3)).
int cmd_keyring(const std::string& desc) {
    long ring = ::syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    std::string extra = "\"session_keyring\":" + std::to_string(ring < 0 ? -errno : ring);
    long key = ::syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", desc.c_str(), 0);
    if (key < 0) return emit("keyring", errno, extra);
    return emit("keyring", 0, extra + ",\"key\":" + std::to_string(key));
}

// syslog(2) SYSLOG_ACTION_READ_ALL: reads the ring buffer without consuming it (harmless).
int cmd_syslog() {
    static char buf[4096];
    int n = ::klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof buf);
    if (n < 0) return emit("syslog", errno, "\"action\":\"SYSLOG_ACTION_READ_ALL\"");
    return emit("syslog", 0, "\"action\":\"SYSLOG_ACTION_READ_ALL\",\"bytes\":" + std::to_string(n));
}

std::string limit_text(rlim_t v) { return v == RLIM_INFINITY ? "\"unlimited\"" : std::to_string(v); }

// RLIMIT_CORE as the process has it, whether the kernel lets it raise the hard limit, and what a
// crash does: a child killed by SIGSEGV in /tmp, its wait status's core flag (WCOREDUMP: set only
// when the kernel wrote a core) and whether a file named core* appeared in /tmp.
int cmd_core() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_CORE, &rl) != 0) return emit("core", errno, "\"step\":\"getrlimit\"");
    std::string extra = "\"soft\":" + limit_text(rl.rlim_cur) + ",\"hard\":" + limit_text(rl.rlim_max);
    int raise_err = 0;
    if (rl.rlim_max != RLIM_INFINITY) {
        rlimit up{rl.rlim_cur, rl.rlim_max + 1};
        raise_err = ::setrlimit(RLIMIT_CORE, &up) == 0 ? 0 : errno;
        ::setrlimit(RLIMIT_CORE, &rl);  // back to what it was, if the raise got through
    }
    extra += ",\"raise_hard\":\"" + err_name(raise_err) + "\"";
    if (::chdir("/tmp") != 0) return emit("core", errno, extra + ",\"step\":\"chdir /tmp\"");
    pid_t child = ::fork();
    if (child < 0) return emit("core", errno, extra + ",\"step\":\"fork\"");
    if (child == 0) {
        ::signal(SIGSEGV, SIG_DFL);
        ::kill(::getpid(), SIGSEGV);
        ::_exit(0);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0)
        if (errno != EINTR) return emit("core", errno, extra + ",\"step\":\"waitpid\"");
    bool signalled = WIFSIGNALED(status);
    extra += ",\"child_signal\":" + std::to_string(signalled ? WTERMSIG(status) : 0) +
             ",\"core_dumped\":" + (signalled && WCOREDUMP(status) ? "true" : "false");
    return emit("core", 0, extra);
}

int usage() {
    std::fprintf(stderr,
                 "usage: ctbench-probe ptrace PID [--seize] | vm-read PID | abstract-connect NAME | keyring DESC | "
                 "syslog | core\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    std::string cmd = argv[1];
    if (cmd == "ptrace" && (argc == 3 || (argc == 4 && std::string(argv[3]) == "--seize")))
        return cmd_ptrace(parse_pid(argv[2]), argc == 4);
    if (cmd == "vm-read" && argc == 3) return cmd_vm_read(parse_pid(argv[2]));
    if (cmd == "abstract-connect" && argc == 3) return cmd_abstract_connect(argv[2]);
    if (cmd == "keyring" && argc == 3) return cmd_keyring(argv[2]);
    if (cmd == "syslog" && argc == 2) return cmd_syslog();
    if (cmd == "core" && argc == 2) return cmd_core();
    return usage();
}

// Small probes the conformance cases run inside a container to check enforcement from the inside:
// each tries one operation and reports {"ok", "errno", "errno_name"} (e.g. "EPERM", "EROFS").
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "agent.hpp"
#include "common/fd.hpp"

namespace agent {
namespace {

// Emits the probe result (plus extra fields) and turns it into the exit code.
int report(int err, json extra = json::object()) {
    json doc = probe_result(err);
    doc.update(extra);
    emit(doc);
    return err == 0 ? 0 : 1;
}

int open_errno(const std::string& path, int flags, mode_t mode = 0) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
}

// "9", "KILL" or "SIGKILL".
int parse_signal(const std::string& text) {
    if (!text.empty() && text[0] >= '0' && text[0] <= '9') return static_cast<int>(parse_int("SIG", text, 0, SIGRTMAX));
    std::string name = text.starts_with("SIG") ? text.substr(3) : text;
    for (int sig = 1; sig < NSIG; ++sig) {
        const char* abbrev = ::sigabbrev_np(sig);
        if (abbrev && name == abbrev) return sig;
    }
    throw UsageError("SIG: unknown signal '" + text + "'");
}

const char* file_type(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFREG: return "file";
        case S_IFDIR: return "directory";
        case S_IFLNK: return "symlink";
        case S_IFCHR: return "char";
        case S_IFBLK: return "block";
        case S_IFIFO: return "fifo";
        case S_IFSOCK: return "socket";
        default: return "unknown";
    }
}

}  // namespace

int cmd_sleep(const Args& args) {
    double seconds = parse_seconds("SECONDS", args.pos[0]);
    sleep_seconds(seconds);
    emit({{"slept_s", seconds}});
    return 0;
}

int cmd_exit(const Args& args) {
    int code = static_cast<int>(parse_int("CODE", args.pos[0], 0, 255));
    emit({{"exit_code", code}});
    return code;
}

int cmd_touch(const Args& args) { return report(open_errno(args.pos[0], O_WRONLY | O_CREAT, 0644)); }

int cmd_write(const Args& args) {
    const std::string& text = args.pos[1];
    ctb::UniqueFd fd(::open(args.pos[0].c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return report(errno);
    ssize_t n = ::write(fd.get(), text.data(), text.size());
    if (n < 0) return report(errno);
    // Some errors (quota, ENOSPC on some filesystems) only show at close.
    if (::close(fd.release()) != 0) return report(errno);
    return report(static_cast<std::size_t>(n) == text.size() ? 0 : EIO, {{"bytes", n}});
}

int cmd_cat(const Args& args) {
    try {
        return report(0, {{"content", read_text(args.pos[0])}});
    } catch (const SysError& e) {
        return report(e.err, {{"content", nullptr}});
    }
}

int cmd_stat(const Args& args) {
    struct stat st{};
    if (::stat(args.pos[0].c_str(), &st) != 0) return report(errno);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return report(0, {{"type", file_type(st.st_mode)}, {"mode", mode}, {"uid", st.st_uid}, {"gid", st.st_gid},
                      {"size", st.st_size}, {"ino", st.st_ino}, {"dev", st.st_dev}, {"nlink", st.st_nlink}});
}

int cmd_open(const Args& args) { return report(open_errno(args.pos[0], args.flag("write") ? O_WRONLY : O_RDONLY)); }

int cmd_kill(const Args& args) {
    auto pid = static_cast<pid_t>(parse_int("PID", args.pos[0], INT32_MIN + 1, INT32_MAX));
    int sig = parse_signal(args.pos[1]);
    return report(::kill(pid, sig) == 0 ? 0 : errno);
}

int cmd_sethostname(const Args& args) {
    const std::string& name = args.pos[0];
    return report(::sethostname(name.data(), name.size()) == 0 ? 0 : errno);
}

int cmd_mount_tmpfs(const Args& args) {
    const std::string& path = args.pos[0];
    ::mkdir(path.c_str(), 0755);  // best effort: if it fails, mount reports why
    return report(::mount("tmpfs", path.c_str(), "tmpfs", 0, "size=1m") == 0 ? 0 : errno);
}

int cmd_setuid_exec(const Args& args) {
    // On success the exec'd program prints its own JSON (typically `info` of a setuid copy of the
    // agent, to see whether no_new_privs kept the euid).
    std::vector<char*> argv;
    for (const auto& a : args.pos) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::fflush(stdout);
    ::execv(argv[0], argv.data());
    return report(errno);
}

}  // namespace agent

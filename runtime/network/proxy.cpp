// Starting and stopping the userland proxy process (see proxy.hpp).
#include "runtime/network/proxy.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/deadline.hpp"
#include "common/proc.hpp"
#include "runtime/network/rtnl.hpp"

namespace ctb::net::proxy {
namespace {

// The process's start time; 0 when it is gone or only a zombie (it is not our child, so init
// reaps it when it likes).
unsigned long long start_time(pid_t pid) {
    auto st = read_proc_stat(pid);
    return st && !st->exited() ? st->start_time : 0;
}

Listener listener_for(const portmap::Reserved& r) {
    Listener l;
    l.fd = r.socket.get();
    l.udp = r.mapping.protocol == "udp";
    auto ip = parse_ip(r.mapping.container_ip);
    if (ip && ip->family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&l.target);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(r.mapping.container_port);
        std::copy_n(ip->bytes.begin(), 16, reinterpret_cast<unsigned char*>(&a->sin6_addr));
        l.target_len = sizeof *a;
    } else if (ip) {
        auto* a = reinterpret_cast<sockaddr_in*>(&l.target);
        a->sin_family = AF_INET;
        a->sin_port = htons(r.mapping.container_port);
        std::copy_n(ip->bytes.begin(), 4, reinterpret_cast<unsigned char*>(&a->sin_addr));
        l.target_len = sizeof *a;
    }
    return l;
}

// Everything the attaching process had open (store lock, sockets of other work, pipes of a
// test harness) must not live on in a long-running proxy: keep only the listeners.
void close_other_fds(const std::vector<Listener>& keep) {
    std::vector<int> open_fds;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') open_fds.push_back(std::atoi(e->d_name));
        ::closedir(d);
    }
    for (int fd : open_fds) {
        bool kept = std::any_of(keep.begin(), keep.end(), [fd](const Listener& l) { return l.fd == fd; });
        if (fd > 2 && !kept) ::close(fd);
    }
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
    if (null > 2) ::close(null);
}

// Named and announced before the loop starts: once the parent has the pid, cleanup can already
// recognise the process by its comm.
[[noreturn]] void become_proxy(const std::vector<Listener>& listeners, int announce_fd) {
    sigset_t all;
    ::sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);  // the runtime may block signals it forwards
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) ::signal(sig, SIG_DFL);
    ::signal(SIGPIPE, SIG_IGN);
    ::prctl(PR_SET_NAME, kProcessName);
    pid_t self = ::getpid();
    (void)!::write(announce_fd, &self, sizeof self);
    close_other_fds(listeners);
    serve(listeners);
}

}  // namespace

Result<ProxyProcess> spawn(std::vector<portmap::Reserved>& reserved) {
    std::vector<Listener> listeners;
    for (const auto& r : reserved) listeners.push_back(listener_for(r));
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(sys_error("pipe2", "userland proxy"));
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    pid_t child = ::fork();
    if (child < 0) return fail(sys_error("fork", "userland proxy"));
    if (child == 0) {
        // Double fork: the proxy is reparented (to init or a subreaper), so it never becomes a
        // zombie of a short-lived runtime, and setsid() detaches it from the caller's terminal.
        ::setsid();
        pid_t proxy = ::fork();
        if (proxy == 0) become_proxy(listeners, write_end.get());
        if (proxy < 0) (void)!::write(write_end.get(), &proxy, sizeof proxy);
        ::_exit(0);
    }
    write_end.reset();
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    pid_t proxy = 0;
    if (::read(read_end.get(), &proxy, sizeof proxy) != sizeof proxy || proxy <= 0)
        return fail(plain_error("start userland proxy", "", "fork failed"));
    for (auto& r : reserved) r.socket.reset();  // the proxy has them now
    return ProxyProcess{proxy, start_time(proxy)};
}

Status stop(const ProxyProcess& p) {
    if (p.pid <= 0) return {};
    unsigned long long now = start_time(p.pid);
    if (now == 0 || now != p.start_time) return {};  // gone, or the pid belongs to someone else now
    if (::kill(p.pid, SIGKILL) != 0 && errno != ESRCH) return fail(sys_error("kill userland proxy", std::to_string(p.pid)));
    // It is not our child (double fork): wait for it to disappear rather than reap it.
    retry_until(Deadline(std::chrono::seconds(5)), [&] { return start_time(p.pid) != p.start_time; });
    return {};
}

}  // namespace ctb::net::proxy

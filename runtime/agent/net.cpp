// Network probes: echo servers and clients (TCP and UDP, IPv4 and IPv6), a throughput stream, and
// the interface list of `info`. Addresses are numeric only (inet_pton): name resolution would pull
// in NSS, which does not work in a static binary inside a bare rootfs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <vector>

#include "agent.hpp"
#include "common/fd.hpp"

namespace agent {

std::uint16_t parse_port(const std::string& text) {
    return static_cast<std::uint16_t>(parse_int("PORT", text, 0, 65535));
}

// "198.18.0.2", "::1" or "[::1]".
Endpoint parse_endpoint(std::string text, std::uint16_t port) {
    if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
    Endpoint ep;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ep.addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ep.addr);
    if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = ep.family = AF_INET;
        v4->sin_port = htons(port);
        ep.len = sizeof(sockaddr_in);
    } else if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = ep.family = AF_INET6;
        v6->sin6_port = htons(port);
        ep.len = sizeof(sockaddr_in6);
    } else {
        throw UsageError("ADDR: '" + text + "' is not a numeric IPv4 or IPv6 address");
    }
    return ep;
}

ctb::UniqueFd bound_socket(int type, const Endpoint& ep) {
    ctb::UniqueFd fd(::socket(ep.family, type | SOCK_CLOEXEC, 0));
    if (!fd) throw SysError("socket", errno);
    int one = 1, zero = 0;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // "::" serves IPv4 too (as mapped addresses) unless the sysctl default says otherwise.
    if (ep.family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) != 0) throw SysError("bind", errno);
    if (type == SOCK_STREAM && ::listen(fd.get(), 128) != 0) throw SysError("listen", errno);
    return fd;
}

// Without --bind: dual-stack "::", or 0.0.0.0 where the container has IPv6 disabled.
ctb::UniqueFd listen_socket(int type, const Args& args) {
    std::uint16_t port = parse_port(args.pos[0]);
    if (auto bind = args.value("bind")) return bound_socket(type, parse_endpoint(*bind, port));
    try {
        return bound_socket(type, parse_endpoint("::", port));
    } catch (const SysError& e) {
        if (e.err != EAFNOSUPPORT && e.err != EADDRNOTAVAIL) throw;
        return bound_socket(type, parse_endpoint("0.0.0.0", port));
    }
}

void announce(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) throw SysError("getsockname", errno);
    char text[INET6_ADDRSTRLEN] = "";
    std::uint16_t port = 0;
    if (ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        port = ntohs(a->sin6_port);
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        port = ntohs(a->sin_port);
    }
    emit({{"listening", port}, {"address", text}});
}

// Waits for `events` until the deadline (monotonic seconds); ETIMEDOUT when it passes.
void wait_fd(int fd, short events, double deadline, const char* step) {
    while (true) {
        double left = deadline - monotonic_now();
        if (left <= 0) throw SysError(step, ETIMEDOUT);
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, static_cast<int>(std::ceil(left * 1000)));
        if (r > 0) return;
        if (r < 0 && errno != EINTR) throw SysError(std::string("poll ") + step, errno);
    }
}

void write_all(int fd, const char* data, std::size_t size, double deadline) {
    while (size > 0) {
        ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            wait_fd(fd, POLLOUT, deadline, "send");
            continue;
        }
        if (n < 0) throw SysError("send", errno);
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

ctb::UniqueFd connect_to(const Endpoint& ep, int type, double deadline) {
    ctb::UniqueFd fd(::socket(ep.family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) throw SysError("socket", errno);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) == 0) return fd;
    if (errno != EINPROGRESS) throw SysError("connect", errno);
    wait_fd(fd.get(), POLLOUT, deadline, "connect");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) throw SysError("connect", err);
    return fd;
}

int accept_one(int listener) {
    while (true) {
        int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) return c;
        if (errno != EINTR && errno != ECONNABORTED) throw SysError("accept", errno);
    }
}

namespace {

// Reads what is available (after waiting for it); 0 means EOF.
std::size_t read_some(int fd, char* buf, std::size_t size, double deadline, const char* step) {
    while (true) {
        ssize_t n = ::recv(fd, buf, size, 0);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EAGAIN && errno != EINTR) throw SysError(step, errno);
        wait_fd(fd, POLLIN, deadline, step);
    }
}

void echo_connection(int fd) {
    char buf[65536];
    while (true) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        try {
            write_all(fd, buf, static_cast<std::size_t>(n), monotonic_now() + 30);
        } catch (const SysError&) {
            return;  // the peer went away; nothing to report
        }
    }
}

double timeout_option(const Args& args) {
    auto v = args.value("timeout");
    return v ? static_cast<double>(parse_int("--timeout", *v, 1, 3'600'000)) / 1000 : 2.0;
}

json client_result(const std::string& message, const std::string& reply, const SysError* failure, double start) {
    bool ok = !failure && reply == message;
    json error = failure ? json(errno_name(failure->err)) : ok ? json(nullptr) : json("mismatch");
    return {{"ok", ok}, {"reply", reply}, {"error", error},
            {"step", failure ? json(failure->step) : json(nullptr)},
            {"elapsed_ms", (monotonic_now() - start) * 1000}};
}

}  // namespace

int cmd_tcp_echo_server(const Args& args) {
    auto listener = listen_socket(SOCK_STREAM, args);
    announce(listener.get());
    if (args.flag("once")) {
        ctb::UniqueFd c(accept_one(listener.get()));
        echo_connection(c.get());
        return 0;
    }
    // One child per connection so a slow client cannot block the others; the kernel reaps them.
    ::signal(SIGCHLD, SIG_IGN);
    while (true) {
        ctb::UniqueFd c(accept_one(listener.get()));
        pid_t pid = ::fork();
        if (pid == 0) {
            echo_connection(c.get());
            ::_exit(0);
        }
        if (pid < 0) echo_connection(c.get());  // e.g. at a pids limit: serve inline instead
    }
}

int cmd_udp_echo_server(const Args& args) {
    auto sock = listen_socket(SOCK_DGRAM, args);
    announce(sock.get());
    char buf[65536];
    while (true) {
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        ssize_t n = ::recvfrom(sock.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw SysError("recvfrom", errno);
        // A failed reply is the client's timeout to report; the server keeps serving.
        ::sendto(sock.get(), buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&peer), len);
    }
}

int cmd_tcp_client(const Args& args) {
    Endpoint ep = parse_endpoint(args.pos[0], parse_port(args.pos[1]));
    const std::string& message = args.pos[2];
    const double start = monotonic_now(), deadline = start + timeout_option(args);
    std::string reply;
    try {
        auto fd = connect_to(ep, SOCK_STREAM, deadline);
        write_all(fd.get(), message.data(), message.size(), deadline);
        ::shutdown(fd.get(), SHUT_WR);
        char buf[65536];
        while (reply.size() < message.size()) {
            std::size_t n = read_some(fd.get(), buf, sizeof buf, deadline, "recv");
            if (n == 0) break;
            reply.append(buf, n);
        }
    } catch (const SysError& e) {
        emit(client_result(message, reply, &e, start));
        return 1;
    }
    json doc = client_result(message, reply, nullptr, start);
    emit(doc);
    return doc["ok"] ? 0 : 1;
}

int cmd_udp_client(const Args& args) {
    Endpoint ep = parse_endpoint(args.pos[0], parse_port(args.pos[1]));
    const std::string& message = args.pos[2];
    const double start = monotonic_now(), deadline = start + timeout_option(args);
    std::string reply;
    try {
        auto fd = connect_to(ep, SOCK_DGRAM, deadline);  // connected: ICMP errors come back as ECONNREFUSED
        char buf[65536];
        // UDP may lose a datagram (a neighbour still resolving): resend every 200 ms until the deadline.
        while (true) {
            if (::send(fd.get(), message.data(), message.size(), 0) < 0) throw SysError("send", errno);
            try {
                std::size_t n = read_some(fd.get(), buf, sizeof buf, std::min(deadline, monotonic_now() + 0.2), "recv");
                reply.assign(buf, n);
                break;
            } catch (const SysError& e) {
                if (e.err != ETIMEDOUT || monotonic_now() >= deadline) throw;
            }
        }
    } catch (const SysError& e) {
        emit(client_result(message, reply, &e, start));
        return 1;
    }
    json doc = client_result(message, reply, nullptr, start);
    emit(doc);
    return doc["ok"] ? 0 : 1;
}

int cmd_tcp_stream_server(const Args& args) {
    auto listener = listen_socket(SOCK_STREAM, args);
    announce(listener.get());
    std::vector<char> buf(1 << 20);
    do {
        ctb::UniqueFd c(accept_one(listener.get()));
        const double start = monotonic_now();
        unsigned long long bytes = 0;
        while (true) {
            ssize_t n = ::recv(c.get(), buf.data(), buf.size(), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            bytes += static_cast<unsigned long long>(n);
        }
        double seconds = monotonic_now() - start;
        emit({{"bytes", bytes}, {"seconds", seconds},
              {"mib_per_s", seconds > 0 ? static_cast<double>(bytes) / (1 << 20) / seconds : 0.0}});
    } while (!args.flag("once"));
    return 0;
}

int cmd_tcp_stream_client(const Args& args) {
    Endpoint ep = parse_endpoint(args.pos[0], parse_port(args.pos[1]));
    const double seconds = parse_seconds("SECONDS", args.pos[2]);
    std::vector<char> buf(128 << 10, 'x');
    unsigned long long bytes = 0;
    double start = monotonic_now();
    try {
        auto fd = connect_to(ep, SOCK_STREAM, start + 5);
        start = monotonic_now();
        while (monotonic_now() - start < seconds) {
            write_all(fd.get(), buf.data(), buf.size(), monotonic_now() + 5);
            bytes += buf.size();
        }
        // Wait for the server's EOF so the rate counts bytes delivered, not bytes queued.
        ::shutdown(fd.get(), SHUT_WR);
        while (read_some(fd.get(), buf.data(), buf.size(), monotonic_now() + 5, "recv") > 0) {
        }
    } catch (const SysError& e) {
        emit({{"ok", false}, {"bytes", bytes}, {"error", errno_name(e.err)}, {"message", e.what()}});
        return 1;
    }
    double elapsed = monotonic_now() - start;
    emit({{"ok", true}, {"bytes", bytes}, {"seconds", elapsed},
          {"mib_per_s", elapsed > 0 ? static_cast<double>(bytes) / (1 << 20) / elapsed : 0.0}});
    return 0;
}

}  // namespace agent

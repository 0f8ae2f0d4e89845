// The userland proxy's event loop: one thread, poll(2) over every socket. TCP connections are
// copied both ways with half-close passed on (shutdown after EOF); UDP is forwarded per client
// address through a connected socket to the container, replies go back from the listening
// socket, and idle flows expire.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <map>
#include <string>

#include "runtime/network/proxy.hpp"

namespace ctb::net::proxy {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kChunk = 64 * 1024;
constexpr auto kUdpIdle = std::chrono::seconds(60);
constexpr std::size_t kMaxUdpFlows = 1024;

struct Side {
    int fd = -1;
    std::string pending;  // bytes waiting to be written to this side
    bool eof = false;     // this side sent EOF
    bool shut = false;    // we shut down writing to this side
};

struct Pair {
    Side a, b;  // a = client, b = container
    bool connecting = true;
    bool dead = false;
    ~Pair() {
        if (a.fd >= 0) ::close(a.fd);
        if (b.fd >= 0) ::close(b.fd);
    }
};

struct Flow {
    int listener = -1;
    sockaddr_storage client{};
    socklen_t client_len = 0;
    int upstream = -1;
    Clock::time_point last = Clock::now();
};

std::list<Pair> pairs;
std::map<std::string, Flow> flows;  // key: listener fd + client address bytes

void accept_tcp(const Listener& l) {
    int client = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return;
    int up = ::socket(l.target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (up < 0 || (::connect(up, reinterpret_cast<const sockaddr*>(&l.target), l.target_len) != 0 && errno != EINPROGRESS)) {
        ::close(client);
        if (up >= 0) ::close(up);
        return;
    }
    auto& p = pairs.emplace_back();
    p.a.fd = client;
    p.b.fd = up;
}

// Moves what `from` has into `to.pending`; only reads when the previous chunk is gone, so a slow
// side slows the other (no unbounded buffering).
void pump_read(Side& from, Side& to, Pair& p) {
    if (from.eof || !to.pending.empty()) return;
    char buf[kChunk];
    ssize_t n = ::recv(from.fd, buf, sizeof buf, 0);
    if (n > 0) to.pending.assign(buf, static_cast<std::size_t>(n));
    else if (n == 0) from.eof = true;
    else if (errno != EAGAIN && errno != EINTR) p.dead = true;
}

void pump_write(Side& to, const Side& from, Pair& p) {
    if (!to.pending.empty()) {
        ssize_t n = ::send(to.fd, to.pending.data(), to.pending.size(), MSG_NOSIGNAL);
        if (n > 0) to.pending.erase(0, static_cast<std::size_t>(n));
        else if (n < 0 && errno != EAGAIN && errno != EINTR) p.dead = true;
    }
    if (from.eof && to.pending.empty() && !to.shut) {
        ::shutdown(to.fd, SHUT_WR);
        to.shut = true;
    }
}

void service_pair(Pair& p, short a_events, short b_events) {
    if (p.connecting) {
        if (!(b_events & (POLLOUT | POLLERR | POLLHUP))) return;
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(p.b.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            p.dead = true;
            return;
        }
        p.connecting = false;
    }
    if (a_events & (POLLIN | POLLHUP | POLLERR)) pump_read(p.a, p.b, p);
    if (b_events & (POLLIN | POLLHUP | POLLERR)) pump_read(p.b, p.a, p);
    pump_write(p.b, p.a, p);
    pump_write(p.a, p.b, p);
    if (p.a.shut && p.b.shut) p.dead = true;
}

short wanted(const Side& self, const Side& other) {
    short ev = 0;
    if (!self.eof && other.pending.empty()) ev |= POLLIN;
    if (!self.pending.empty()) ev |= POLLOUT;
    return ev;
}

void forward_udp(const Listener& l) {
    char buf[kChunk];
    Flow f;
    f.client_len = sizeof f.client;
    ssize_t n = ::recvfrom(l.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&f.client), &f.client_len);
    if (n < 0) return;
    std::string key = std::to_string(l.fd) + ":" + std::string(reinterpret_cast<char*>(&f.client), f.client_len);
    auto it = flows.find(key);
    if (it == flows.end()) {
        if (flows.size() >= kMaxUdpFlows) return;
        f.listener = l.fd;
        f.upstream = ::socket(l.target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (f.upstream < 0) return;
        if (::connect(f.upstream, reinterpret_cast<const sockaddr*>(&l.target), l.target_len) != 0) {
            ::close(f.upstream);
            return;
        }
        it = flows.emplace(key, f).first;
    }
    it->second.last = Clock::now();
    ::send(it->second.upstream, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
}

void reply_udp(Flow& f) {
    char buf[kChunk];
    ssize_t n = ::recv(f.upstream, buf, sizeof buf, 0);
    if (n < 0) return;
    f.last = Clock::now();
    ::sendto(f.listener, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&f.client),
             f.client_len);
}

void expire_flows() {
    auto now = Clock::now();
    std::erase_if(flows, [now](auto& kv) {
        if (now - kv.second.last < kUdpIdle) return false;
        ::close(kv.second.upstream);
        return true;
    });
}

}  // namespace

void serve(const std::vector<Listener>& listeners) {
    for (const auto& l : listeners) ::fcntl(l.fd, F_SETFL, ::fcntl(l.fd, F_GETFL) | O_NONBLOCK);
    // A side with nothing to wait for is polled as fd -1: POLLHUP of a finished side would
    // otherwise wake the loop forever while the other direction is still open.
    auto entry = [](int fd, short events) { return pollfd{events ? fd : -1, events, 0}; };
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<Pair*> polled_pairs;
        std::vector<Flow*> polled_flows;
        for (const auto& l : listeners) fds.push_back({l.fd, POLLIN, 0});
        for (auto& p : pairs) {
            fds.push_back(entry(p.a.fd, p.connecting ? short(0) : wanted(p.a, p.b)));
            fds.push_back(entry(p.b.fd, p.connecting ? short(POLLOUT) : wanted(p.b, p.a)));
            polled_pairs.push_back(&p);
        }
        for (auto& [key, f] : flows) {
            fds.push_back({f.upstream, POLLIN, 0});
            polled_flows.push_back(&f);
        }
        if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) ::_exit(1);
        std::size_t i = 0;
        for (const auto& l : listeners)
            if (fds[i++].revents & POLLIN) l.udp ? forward_udp(l) : accept_tcp(l);
        // Pairs and flows added just now were not polled; their turn comes next round.
        for (Pair* p : polled_pairs) {
            service_pair(*p, fds[i].revents, fds[i + 1].revents);
            i += 2;
        }
        for (Flow* f : polled_flows)
            if (fds[i++].revents & POLLIN) reply_udp(*f);
        pairs.remove_if([](const Pair& p) { return p.dead; });
        expire_flows();
    }
}

}  // namespace ctb::net::proxy

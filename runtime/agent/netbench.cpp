// The network workload engine of the veth benches: one server (TCP and UDP on the same port) and
// one client with three modes, all measured inside the agent so the same figures come out of any
// container (ctbench, runc, crun) or a VM guest, with nothing in the rootfs but this binary.
//
//   tcp_stream  the client writes 128 KiB blocks (iperf3's default length) for --seconds or
//               --bytes, half-closes, and waits for the server's count of what it received: the
//               rate is delivered bytes over the time to that acknowledgement, not bytes queued.
//   udp_stream  datagrams of --size bytes with a session id and a sequence number, sent as fast
//               as the socket takes them (iperf3 -u -b 0); the server counts per session and
//               answers a report request, so loss = sent - received is the receiver's count.
//   tcp_rr      one request of --size bytes at a time, echoed by the server (TCP_NODELAY on both
//               ends, as sockperf ping-pong); every round trip is timed with CLOCK_MONOTONIC.
//
// Data paths use blocking sockets and large blocks: no per-byte work, one syscall per block, so
// the engine costs what iperf3 and sockperf cost (the fidelity check in benches/veth measures it).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "agent.hpp"

namespace agent {
namespace {

constexpr std::uint32_t kMagic = 0x4e425443;  // "CTBN"
constexpr std::size_t kStreamBlock = 128 << 10;
constexpr int kIoTimeoutSeconds = 10;  // a silent peer ends the command instead of hanging it

enum Mode : std::uint8_t { kStream = 'S', kRequestResponse = 'R' };

// First bytes of every TCP connection: what the server should do with it.
struct Hello {
    std::uint32_t magic;
    std::uint8_t mode;
    std::uint8_t pad[3];
    std::uint32_t size;  // request size for kRequestResponse
};

enum DgramType : std::uint32_t { kData = 1, kReport = 2, kReportReply = 3 };

struct Dgram {
    std::uint32_t magic;
    std::uint32_t type;
    std::uint64_t session;
    std::uint64_t seq;
    // kReportReply only: what the server counted for the session.
    std::uint64_t received;
    std::uint64_t bytes;
};

std::uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Blocking from here on, with a timeout per call so a vanished peer is an error, not a hang.
void make_blocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) throw SysError("fcntl O_NONBLOCK", errno);
    timeval tv{kIoTimeoutSeconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void set_nodelay(int fd) {
    int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) throw SysError("TCP_NODELAY", errno);
}

void send_full(int fd, const void* data, std::size_t size, const char* step) {
    auto* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw SysError(step, errno == EAGAIN ? ETIMEDOUT : errno);
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

// Exactly `size` bytes; false on EOF before the first byte (the peer closed between messages).
bool recv_full(int fd, void* data, std::size_t size, const char* step) {
    auto* p = static_cast<char*>(data);
    std::size_t got = 0;
    while (got < size) {
        ssize_t n = ::recv(fd, p + got, size - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw SysError(step, errno == EAGAIN ? ETIMEDOUT : errno);
        if (n == 0) {
            if (got == 0) return false;
            throw SysError(step, EPIPE);
        }
        got += static_cast<std::size_t>(n);
    }
    return true;
}

// ---- server -----------------------------------------------------------------------------------

void serve_stream(int fd) {
    std::vector<char> buf(kStreamBlock);
    std::uint64_t bytes = 0;
    while (true) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw SysError("recv stream", errno);
        if (n == 0) break;
        bytes += static_cast<std::uint64_t>(n);
    }
    send_full(fd, &bytes, sizeof bytes, "send stream count");
}

void serve_requests(int fd, std::uint32_t size) {
    set_nodelay(fd);
    std::vector<char> buf(size);
    while (recv_full(fd, buf.data(), size, "recv request")) send_full(fd, buf.data(), size, "send response");
}

// In a child per connection: a slow or stuck client cannot stop the others.
void serve_connection(int fd) {
    make_blocking(fd);
    Hello h{};
    if (!recv_full(fd, &h, sizeof h, "recv hello") || h.magic != kMagic) return;
    if (h.mode == kStream) serve_stream(fd);
    if (h.mode == kRequestResponse && h.size > 0 && h.size <= (1u << 20)) serve_requests(fd, h.size);
}

struct SessionCount {
    std::uint64_t received = 0, bytes = 0;
};

// One datagram if one is queued; false when the queue is empty.
bool serve_datagram(int fd, std::vector<char>& buf, std::map<std::uint64_t, SessionCount>& sessions) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&peer), &len);
    if (n < 0) return errno == EINTR;
    Dgram d;
    if (n < static_cast<ssize_t>(sizeof d)) return true;
    std::memcpy(&d, buf.data(), sizeof d);
    if (d.magic != kMagic) return true;
    if (d.type == kData) {
        // Bounded: sessions nobody asks about any more are forgotten wholesale.
        if (sessions.size() > 4096 && !sessions.contains(d.session)) sessions.clear();
        auto& s = sessions[d.session];
        s.received++;
        s.bytes += static_cast<std::uint64_t>(n);
    } else if (d.type == kReport) {
        auto& s = sessions[d.session];
        d.type = kReportReply;
        d.received = s.received;
        d.bytes = s.bytes;
        ::sendto(fd, &d, sizeof d, 0, reinterpret_cast<sockaddr*>(&peer), len);
    }
    return true;
}

// ---- client -----------------------------------------------------------------------------------

struct ClientOptions {
    Endpoint ep;
    double seconds = 1;
    std::uint64_t bytes = 0;     // tcp_stream, udp_stream: stop after this many bytes instead (0: by time)
    std::uint64_t requests = 0;  // tcp_rr: stop after this many requests instead (0: by time)
    std::uint32_t size = 0;      // datagram / request size
};

ctb::UniqueFd connect_blocking(const Endpoint& ep, int type) {
    auto fd = connect_to(ep, type, monotonic_now() + 5);
    make_blocking(fd.get());
    return fd;
}

double mbit(std::uint64_t bytes, double seconds) { return seconds > 0 ? static_cast<double>(bytes) * 8 / seconds / 1e6 : 0; }

json tcp_stream(const ClientOptions& o) {
    auto fd = connect_blocking(o.ep, SOCK_STREAM);
    Hello h{kMagic, kStream, {}, 0};
    send_full(fd.get(), &h, sizeof h, "send hello");
    std::vector<char> buf(kStreamBlock, 'x');
    std::uint64_t sent = 0;
    const std::uint64_t start = now_ns(), end = start + static_cast<std::uint64_t>(o.seconds * 1e9);
    while (o.bytes ? sent < o.bytes : now_ns() < end) {
        std::size_t n = o.bytes ? std::min<std::uint64_t>(buf.size(), o.bytes - sent) : buf.size();
        send_full(fd.get(), buf.data(), n, "send stream");
        sent += n;
    }
    ::shutdown(fd.get(), SHUT_WR);
    std::uint64_t delivered = 0;
    if (!recv_full(fd.get(), &delivered, sizeof delivered, "recv stream count")) throw SysError("recv stream count", EPIPE);
    double seconds = static_cast<double>(now_ns() - start) / 1e9;
    if (delivered != sent) throw SysError("stream count (server received fewer bytes than sent)", EPROTO);
    return {{"mode", "tcp_stream"}, {"bytes", delivered}, {"seconds", seconds}, {"mbit_per_s", mbit(delivered, seconds)},
            {"block", kStreamBlock}};
}

// Asks for the session's count until a reply comes (a report may be lost as data was), 2 s at most.
Dgram udp_report(int fd, std::uint64_t session) {
    Dgram ask{kMagic, kReport, session, 0, 0, 0};
    const double deadline = monotonic_now() + 2;
    while (true) {
        if (::send(fd, &ask, sizeof ask, 0) < 0 && errno != ENOBUFS) throw SysError("send report request", errno);
        try {
            wait_fd(fd, POLLIN, std::min(deadline, monotonic_now() + 0.1), "recv report");
        } catch (const SysError& e) {
            if (e.err != ETIMEDOUT || monotonic_now() >= deadline) throw;
            continue;
        }
        Dgram reply{};
        ssize_t n = ::recv(fd, &reply, sizeof reply, MSG_DONTWAIT);
        if (n == static_cast<ssize_t>(sizeof reply) && reply.magic == kMagic && reply.type == kReportReply &&
            reply.session == session)
            return reply;
    }
}

json udp_stream(const ClientOptions& o) {
    auto fd = connect_blocking(o.ep, SOCK_DGRAM);
    const std::uint32_t size = std::max<std::uint32_t>(o.size ? o.size : 1400, sizeof(Dgram));
    std::vector<char> buf(size, 'u');
    Dgram d{kMagic, kData, (now_ns() << 16) ^ static_cast<std::uint64_t>(::getpid()), 0, 0, 0};
    std::uint64_t sent = 0;
    const std::uint64_t start = now_ns(), end = start + static_cast<std::uint64_t>(o.seconds * 1e9);
    while (o.bytes ? sent * size < o.bytes : now_ns() < end) {
        d.seq = sent;
        std::memcpy(buf.data(), &d, sizeof d);
        ssize_t n = ::send(fd.get(), buf.data(), buf.size(), 0);
        if (n < 0 && (errno == EINTR || errno == ENOBUFS)) continue;  // ENOBUFS: queue full, not a loss
        if (n < 0 && errno == ECONNREFUSED) throw SysError("send datagram (no UDP server)", errno);
        if (n < 0) throw SysError("send datagram", errno);
        sent++;
    }
    double seconds = static_cast<double>(now_ns() - start) / 1e9;
    Dgram r = udp_report(fd.get(), d.session);
    std::uint64_t lost = sent > r.received ? sent - r.received : 0;
    return {{"mode", "udp_stream"}, {"size", size}, {"sent", sent}, {"received", r.received}, {"lost", lost},
            {"loss_ratio", sent ? static_cast<double>(lost) / static_cast<double>(sent) : 0.0},
            {"seconds", seconds}, {"mbit_per_s", mbit(r.bytes, seconds)},
            {"sent_mbit_per_s", mbit(sent * size, seconds)}};
}

double percentile_us(std::vector<std::uint64_t>& ns, double q) {
    auto k = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1));
    std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(k), ns.end());
    return static_cast<double>(ns[k]) / 1e3;
}

json tcp_rr(const ClientOptions& o) {
    auto fd = connect_blocking(o.ep, SOCK_STREAM);
    set_nodelay(fd.get());
    const std::uint32_t size = o.size ? o.size : 64;
    Hello h{kMagic, kRequestResponse, {}, size};
    send_full(fd.get(), &h, sizeof h, "send hello");
    std::vector<char> buf(size, 'r');
    std::vector<std::uint64_t> rtt;
    rtt.reserve(1 << 20);
    const std::uint64_t start = now_ns(), end = start + static_cast<std::uint64_t>(o.seconds * 1e9);
    std::uint64_t t = start;
    while (o.requests ? rtt.size() < o.requests : t < end) {
        send_full(fd.get(), buf.data(), size, "send request");
        if (!recv_full(fd.get(), buf.data(), size, "recv response")) throw SysError("recv response", EPIPE);
        std::uint64_t after = now_ns();
        rtt.push_back(after - t);
        t = after;
    }
    double seconds = static_cast<double>(t - start) / 1e9;
    if (rtt.empty()) throw SysError("tcp_rr (no request completed)", ETIMEDOUT);
    std::uint64_t sum = 0;
    for (auto v : rtt) sum += v;
    auto [mn, mx] = std::minmax_element(rtt.begin(), rtt.end());
    json out{{"mode", "tcp_rr"}, {"size", size}, {"requests", rtt.size()}, {"seconds", seconds},
             {"mean_us", static_cast<double>(sum) / static_cast<double>(rtt.size()) / 1e3},
             {"min_us", static_cast<double>(*mn) / 1e3}, {"max_us", static_cast<double>(*mx) / 1e3}};
    out["median_us"] = percentile_us(rtt, 0.5);
    out["p99_us"] = percentile_us(rtt, 0.99);
    out["p999_us"] = percentile_us(rtt, 0.999);
    return out;
}

ClientOptions client_options(const Args& args) {
    ClientOptions o;
    o.ep = parse_endpoint(args.pos[1], parse_port(args.pos[2]));
    o.seconds = seconds_option(args, "seconds", 1.0);
    if (auto v = args.value("bytes")) o.bytes = static_cast<std::uint64_t>(parse_int("--bytes", *v, 1, 1ll << 50));
    if (auto v = args.value("requests")) o.requests = static_cast<std::uint64_t>(parse_int("--requests", *v, 1, 1 << 30));
    if (auto v = args.value("size")) o.size = static_cast<std::uint32_t>(parse_int("--size", *v, 1, 65000));
    if (o.seconds <= 0 && !o.bytes && !o.requests) throw UsageError("--seconds: must be > 0 (or give --bytes/--requests)");
    return o;
}

}  // namespace

int cmd_netbench_server(const Args& args) {
    auto listener = listen_socket(SOCK_STREAM, args);
    // UDP on the TCP port's number, so one PORT (and one published port pair) serves both.
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) throw SysError("getsockname", errno);
    std::uint16_t port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                                        : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    Args udp_args = args;
    udp_args.pos[0] = std::to_string(port);
    auto udp = listen_socket(SOCK_DGRAM, udp_args);
    announce(listener.get());
    ::signal(SIGCHLD, SIG_IGN);  // connection children are reaped by the kernel
    std::vector<char> buf(65536);
    std::map<std::uint64_t, SessionCount> sessions;
    while (true) {
        pollfd p[2] = {{listener.get(), POLLIN, 0}, {udp.get(), POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            throw SysError("poll", errno);
        }
        if (p[1].revents & POLLIN)
            for (int i = 0; i < 4096 && serve_datagram(udp.get(), buf, sessions); ++i) {
            }  // a burst at a time, then look at the listener again
        if (!(p[0].revents & POLLIN)) continue;
        ctb::UniqueFd c(accept_one(listener.get()));
        pid_t pid = ::fork();
        if (pid == 0) {
            listener.reset();
            udp.reset();
            try {
                serve_connection(c.get());
            } catch (const SysError& e) {
                std::fprintf(stderr, "ctbench-agent netbench-server: %s\n", e.what());
                ::_exit(1);
            }
            ::_exit(0);
        }
        if (pid < 0) throw SysError("fork", errno);
    }
}

int cmd_netbench_client(const Args& args) {
    const std::string& mode = args.pos[0];
    if (mode != "tcp_stream" && mode != "udp_stream" && mode != "tcp_rr")
        throw UsageError("MODE: '" + mode + "' is not one of tcp_stream, udp_stream, tcp_rr");
    ClientOptions o = client_options(args);
    json out = mode == "tcp_stream" ? tcp_stream(o) : mode == "udp_stream" ? udp_stream(o) : tcp_rr(o);
    out["ok"] = true;
    emit(out);
    return 0;
}

}  // namespace agent

#include "runtime/cli/terminal.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/container/console.hpp"
#include "runtime/log.hpp"

namespace ctb::runtime_cli {
namespace {

int g_winch_write = -1;  // SIGWINCH handler -> relay thread

void on_winch(int) {
    char b = 'w';
    [[maybe_unused]] auto n = ::write(g_winch_write, &b, 1);
}

void copy_size(int from, int to) {
    winsize ws{};
    if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// Everything in buf to fd (a slow reader blocks the relay, as it would block the program).
bool write_all(int fd, const char* buf, ssize_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, buf, static_cast<size_t>(n));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        buf += w, n -= w;
    }
    return true;
}

// What the master has until the slave side is gone (EIO) or quiet for `quiet_ms`.
void drain(int master, int quiet_ms) {
    char buf[4096];
    for (pollfd p{master, POLLIN, 0}; ::poll(&p, 1, quiet_ms) > 0;) {
        ssize_t n = ::read(master, buf, sizeof buf);
        if (n <= 0 || !write_all(STDOUT_FILENO, buf, n)) return;
    }
}

}  // namespace

std::optional<spec::ConsoleSize> caller_size() {
    winsize ws{};
    if (!::isatty(STDIN_FILENO) || ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return std::nullopt;
    return spec::ConsoleSize{ws.ws_row, ws.ws_col};
}

Result<TerminalRelay> TerminalRelay::make(UniqueFd& theirs) {
    int pair[2], stop[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return fail(sys_error("socketpair", "process.terminal"));
    if (::pipe2(stop, O_CLOEXEC) != 0) {
        ::close(pair[0]), ::close(pair[1]);
        return fail(sys_error("pipe", "process.terminal"));
    }
    TerminalRelay r;
    r.ours_ = UniqueFd(pair[0]);
    theirs = UniqueFd(pair[1]);
    r.stop_read_ = UniqueFd(stop[0]);
    r.stop_write_ = UniqueFd(stop[1]);
    return r;
}

TerminalRelay::TerminalRelay(TerminalRelay&& o) noexcept
    : ours_(std::move(o.ours_)), stop_read_(std::move(o.stop_read_)), stop_write_(std::move(o.stop_write_)),
      thread_(std::move(o.thread_)), saved_(o.saved_) {
    o.saved_.reset();
}

TerminalRelay::~TerminalRelay() { finish(); }

void TerminalRelay::start() { thread_ = std::thread([this] { run(); }); }

void TerminalRelay::finish() {
    if (thread_.joinable()) {
        char b = 's';
        [[maybe_unused]] auto n = ::write(stop_write_.get(), &b, 1);
        thread_.join();
    }
    if (saved_) ::tcsetattr(STDIN_FILENO, TCSADRAIN, &*saved_);
    saved_.reset();
}

void TerminalRelay::run() {
    // The master arrives while the process is set up. A stop with no master sent means it never
    // will; a stop with one sent (a process that ended at once) still has output to relay.
    pollfd wait[2] = {{ours_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    while (::poll(wait, 2, -1) < 0 && errno == EINTR) {
    }
    if (!(wait[0].revents & POLLIN)) return;
    auto master = container::receive_pty_master(ours_.get(), std::chrono::milliseconds(0));
    if (!master) return rtlog::error(master.error().message());
    int m = master->get();
    int winch[2] = {-1, -1};
    bool tty = ::isatty(STDIN_FILENO);
    if (tty) {
        termios t{};
        if (::tcgetattr(STDIN_FILENO, &t) == 0) {
            saved_ = t;
            ::cfmakeraw(&t);
            ::tcsetattr(STDIN_FILENO, TCSADRAIN, &t);
        }
        copy_size(STDIN_FILENO, m);
        if (::pipe2(winch, O_CLOEXEC | O_NONBLOCK) == 0) {
            g_winch_write = winch[1];
            struct sigaction sa {};
            sa.sa_handler = on_winch;
            sa.sa_flags = SA_RESTART;
            ::sigaction(SIGWINCH, &sa, nullptr);
        }
    }
    bool stdin_open = true;
    char buf[4096];
    for (;;) {
        pollfd p[4] = {{m, POLLIN, 0}, {stop_read_.get(), POLLIN, 0}, {winch[0], POLLIN, 0},
                       {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
        if (::poll(p, 4, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (p[1].revents) {
            drain(m, 100);  // the process has exited: what it wrote last
            break;
        }
        if (p[0].revents) {
            ssize_t n = ::read(m, buf, sizeof buf);
            if (n <= 0 || !write_all(STDOUT_FILENO, buf, n)) break;  // EIO: every slave fd is closed
        }
        if (p[2].revents) {
            while (::read(winch[0], buf, sizeof buf) > 0) {
            }
            copy_size(STDIN_FILENO, m);
        }
        if (p[3].revents) {
            ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
            if (n > 0) {
                if (!write_all(m, buf, n)) break;
            } else {
                // The end of a piped stdin: the terminal's way to say so (VEOF at a line start).
                termios t{};
                char eof = ::tcgetattr(m, &t) == 0 ? static_cast<char>(t.c_cc[VEOF]) : '\x04';
                (void)write_all(m, &eof, 1);
                stdin_open = false;
            }
        }
    }
    if (winch[0] >= 0) {
        ::signal(SIGWINCH, SIG_DFL);
        g_winch_write = -1;
        ::close(winch[0]), ::close(winch[1]);
    }
}

}  // namespace ctb::runtime_cli

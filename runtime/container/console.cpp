#include "runtime/container/console.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "common/unix_socket.hpp"
#include "runtime/container/sync.hpp"

namespace ctb::container {
namespace {

// The pty master with a tag, as containerd shims and conmon expect (one SCM_RIGHTS message).
Status send_fd(int sock, int fd) { return send_with_fd(sock, "console", fd, "the console socket (pty master)"); }

}  // namespace

Result<UniqueFd> connect_console_socket(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail(sys_error("socket", "console socket"));
    auto addr = unix_socket_address(path);
    if (!addr) return fail(plain_error("connect console socket", path, "path too long"));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0)
        return fail(sys_error("connect console socket", path));
    return fd;
}

Status attach_new_pty(int console_fd, const std::optional<spec::ConsoleSize>& size) {
    UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return fail(sys_error("open", "/dev/ptmx (process.terminal)"));
    if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0) return fail(sys_error("unlockpt", "/dev/ptmx"));
    char name[64];
    if (::ptsname_r(master.get(), name, sizeof name) != 0) return fail(sys_error("ptsname", "/dev/ptmx"));
    UniqueFd slave(::open(name, O_RDWR | O_NOCTTY));
    if (!slave) return fail(sys_error("open pty", name));
    if (size) {
        winsize ws{};
        ws.ws_row = static_cast<unsigned short>(size->height);
        ws.ws_col = static_cast<unsigned short>(size->width);
        if (::ioctl(master.get(), TIOCSWINSZ, &ws) != 0) return fail(sys_error("set size of", "process.consoleSize"));
    }
    if (auto s = send_fd(console_fd, master.get()); !s) return s;
    ::close(console_fd);
    if (::setsid() < 0) return fail(sys_error("setsid", "process.terminal"));
    if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) return fail(sys_error("set controlling terminal", name));
    for (int target : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO})
        if (::dup2(slave.get(), target) < 0) return fail(sys_error("dup2 pty onto stdio", name));
    return {};
}

Result<UniqueFd> receive_pty_master(int sock, std::chrono::milliseconds timeout) {
    pollfd p{sock, POLLIN, 0};
    int ready;
    do ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    while (ready < 0 && errno == EINTR);
    if (ready == 0) return fail(plain_error("receive pty master", "process.terminal", "the container sent none in time"));
    char buf[16];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) return fail(sys_error("receive pty master", "process.terminal"));
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    if (n == 0 || !cm || cm->cmsg_type != SCM_RIGHTS)
        return fail(plain_error("receive pty master", "process.terminal", "the container closed the socket without one"));
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return UniqueFd(fd);
}

}  // namespace ctb::container

#include "runtime/container/sync.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ctb::container {

Result<SyncPair> make_sync_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
        return fail(sys_error("socketpair", "sync channel"));
    return SyncPair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Status send_message(int fd, const nlohmann::json& message) {
    std::string text = message.dump();
    for (;;) {
        ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
        if (n >= 0) return {};
        if (errno != EINTR) return fail(sys_error("send on", "sync channel"));
    }
}

Status send_with_fd(int sock, const std::string& data, int passed, const std::string& object) {
    iovec iov{const_cast<char*>(data.data()), data.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &passed, sizeof(int));
    for (;;) {
        ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n == static_cast<ssize_t>(data.size())) return {};
        if (n >= 0) return fail(plain_error("send to", object, "short write"));
        if (errno != EINTR) return fail(sys_error("send to", object));
    }
}

Result<nlohmann::json> receive_message(int fd, std::chrono::milliseconds timeout, UniqueFd* passed) {
    pollfd pfd{fd, POLLIN, 0};
    int ready;
    do {
        ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return fail(sys_error("poll", "sync channel"));
    if (ready == 0) return fail(plain_error("wait for", "container init", "no answer within " +
                                            std::to_string(timeout.count()) + " ms"));
    char buf[16384];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    // ECONNRESET: the peer died with a message of ours still unread; as silent as a plain EOF.
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return nlohmann::json::object();
    if (n < 0) return fail(sys_error("receive on", "sync channel"));
    // A descriptor nobody asked for is closed at once rather than leaked.
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int got;
            std::memcpy(&got, CMSG_DATA(cm), sizeof got);
            if (passed) passed->reset(got);
            else ::close(got);
        }
    auto j = nlohmann::json::parse(std::string(buf, static_cast<std::size_t>(n)), nullptr, false);
    if (j.is_discarded()) return fail(plain_error("parse", "sync message", "malformed JSON"));
    return j;
}

nlohmann::json error_to_json(const Error& e) {
    return {{"step", e.step}, {"object", e.object}, {"errno", e.err}, {"detail", e.detail}};
}

Error error_from_json(const nlohmann::json& j) {
    return Error{j.value("step", "container init"), j.value("object", ""), j.value("errno", 0),
                 j.value("detail", "")};
}

}  // namespace ctb::container

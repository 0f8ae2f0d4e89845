#include "runtime/container/sync.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

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

Result<nlohmann::json> receive_message(int fd, std::chrono::milliseconds timeout) {
    pollfd pfd{fd, POLLIN, 0};
    int ready;
    do {
        ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return fail(sys_error("poll", "sync channel"));
    if (ready == 0) return fail(plain_error("wait for", "container init", "no answer within " +
                                            std::to_string(timeout.count()) + " ms"));
    char buf[16384];
    ssize_t n;
    do {
        n = ::recv(fd, buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    // ECONNRESET: the peer died with a message of ours still unread; as silent as a plain EOF.
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return nlohmann::json::object();
    if (n < 0) return fail(sys_error("receive on", "sync channel"));
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

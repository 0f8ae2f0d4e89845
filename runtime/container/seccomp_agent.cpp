#include "runtime/container/seccomp_agent.hpp"

#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/unix_socket.hpp"
#include "runtime/container/sync.hpp"

namespace ctb::container {
namespace {

constexpr const char* kField = "linux.seccomp.listenerPath";

Result<UniqueFd> connect_agent(const std::string& path) {
    auto addr = unix_socket_address(path);
    if (!addr) return fail(plain_error("connect", kField, path + ": longer than a unix socket path may be"));
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) return fail(sys_error("socket for", kField));
    int rc;
    do rc = ::connect(sock.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        auto e = sys_error("connect", std::string(kField) + " " + path);
        e.detail = "no seccomp agent listens there";
        return fail(std::move(e));
    }
    return sock;
}

}  // namespace

Status send_to_seccomp_agent(const spec::Seccomp& seccomp, pid_t pid, const std::string& state_json, int listener_fd) {
    auto state = nlohmann::json::parse(state_json, nullptr, false);
    if (state.is_discarded()) return fail(plain_error("seccomp agent", kField, "the container state is not JSON"));
    nlohmann::json process_state = {
        {"ociVersion", state.value("ociVersion", std::string("1.2.0"))},
        {"fds", {"seccompFd"}},
        {"pid", pid},
        {"metadata", seccomp.listener_metadata},
        {"state", state},
    };
    auto sock = connect_agent(seccomp.listener_path);
    if (!sock) return fail(sock.error());
    return send_with_fd(sock->get(), process_state.dump(), listener_fd, std::string(kField) + " " + seccomp.listener_path);
}

}  // namespace ctb::container

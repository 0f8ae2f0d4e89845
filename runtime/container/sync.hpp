// The sync channel between the runtime (parent) and the container's init (child): a
// SOCK_SEQPACKET socketpair carrying one small JSON message per packet. A setup step that fails
// in the child travels back as a full ctb::Error, so the user sees
// `mount proc on /run/ctbench/…/rootfs/proc: EPERM`, never a bare exit code.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace ctb::container {

struct SyncPair {
    UniqueFd parent, child;
};
Result<SyncPair> make_sync_pair();

Status send_message(int fd, const nlohmann::json& message);
// Waits up to `timeout` for one message; EOF (the peer closed or exec'd) is an empty object.
// `passed`, when given, receives a descriptor sent along with the message (SCM_RIGHTS).
Result<nlohmann::json> receive_message(int fd, std::chrono::milliseconds timeout, UniqueFd* passed = nullptr);

// `data` in one sendmsg with `passed` attached (SCM_RIGHTS): the sync channel's messages that
// carry a descriptor (the seccomp listener), and the seccomp agent's socket. `object` names the
// peer in errors.
Status send_with_fd(int sock, const std::string& data, int passed, const std::string& object);

nlohmann::json error_to_json(const Error& e);
Error error_from_json(const nlohmann::json& j);

}  // namespace ctb::container

// Network namespace handles. A namespace is held by an fd (from /proc/.../ns/net or new_netns());
// sockets opened while a thread is inside a namespace act on that namespace for their whole life.
#pragma once

#include <functional>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace ctb::net {

// The calling thread's network namespace, as an O_CLOEXEC fd.
Result<UniqueFd> current_netns();
// A new, empty network namespace that lives as long as the returned fd (or anything inside it).
// The calling thread does not move: a short-lived helper thread unshares and hands back the fd.
Result<UniqueFd> new_netns();
// Runs `fn` with the calling thread inside `netns_fd`, then moves the thread back. Sockets opened
// by `fn` stay bound to `netns_fd` for their whole life, which is how Rtnl and Nft target a netns.
Status in_netns(int netns_fd, const std::function<Status()>& fn);

}  // namespace ctb::net

// Network namespace handles: how Rtnl, Nft and the runtime reach a namespace other than their own.
#include "runtime/network/netns.hpp"

#include <fcntl.h>
#include <sched.h>

#include <fmt/format.h>
#include <thread>

namespace ctb::net {

Result<UniqueFd> current_netns() {
    // thread-self, not self: setns() moves one thread, and that is the one we must describe.
    UniqueFd fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(sys_error("open", "/proc/thread-self/ns/net"));
    return fd;
}

Result<UniqueFd> new_netns() {
    Result<UniqueFd> out = fail(plain_error("create network namespace", "", "helper thread did not run"));
    // unshare() acts on the calling thread only; doing it on a throwaway thread leaves the caller
    // where it was with no way to get stranded. The fd keeps the namespace alive after the thread.
    std::thread([&out] {
        if (::unshare(CLONE_NEWNET) != 0) {
            out = fail(sys_error("unshare", "CLONE_NEWNET"));
            return;
        }
        out = current_netns();
    }).join();
    return out;
}

Status in_netns(int netns_fd, const std::function<Status()>& fn) {
    auto home = current_netns();
    if (!home) return fail(home.error());
    if (::setns(netns_fd, CLONE_NEWNET) != 0)
        return fail(sys_error("enter network namespace", fmt::format("fd {}", netns_fd)));
    Status result;
    try {
        result = fn();
    } catch (...) {
        (void)::setns(home->get(), CLONE_NEWNET);
        throw;
    }
    // Failing here would leave this thread in the wrong namespace; say so rather than carry on.
    if (::setns(home->get(), CLONE_NEWNET) != 0)
        return fail(sys_error("return to original network namespace", fmt::format("fd {}", home->get())));
    return result;
}

}  // namespace ctb::net

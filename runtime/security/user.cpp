#include "runtime/security/user.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fmt/format.h>
#include <vector>

#include "common/files.hpp"

namespace ctb::security {
namespace {

// In a user namespace whose /proc/<pid>/setgroups says "deny" (required to map gids without
// CAP_SETGID in the parent), setgroups always fails with EPERM. Dropping to no supplementary
// groups is then impossible but also pointless, so only a non-empty list is an error there.
bool setgroups_denied() {
    auto content = read_file("/proc/self/setgroups");
    return content && trim(*content) == "deny";
}

Status set_groups(const std::vector<std::uint32_t>& additional) {
    std::vector<gid_t> gids(additional.begin(), additional.end());
    if (::setgroups(gids.size(), gids.data()) == 0) return {};
    int err = errno;
    if (err == EPERM && gids.empty() && setgroups_denied()) return {};
    return fail(sys_error("setgroups", "process.user.additionalGids", err));
}

}  // namespace

Status apply_user(const spec::User& user) {
    if (auto st = set_groups(user.additional_gids); !st) return st;
    if (::setresgid(user.gid, user.gid, user.gid) != 0)
        return fail(sys_error("setresgid", fmt::format("process.user.gid {}", user.gid)));
    if (::setresuid(user.uid, user.uid, user.uid) != 0)
        return fail(sys_error("setresuid", fmt::format("process.user.uid {}", user.uid)));
    if (user.umask) ::umask(static_cast<mode_t>(*user.umask & 0777));
    return {};
}

}  // namespace ctb::security

#include "runtime/security/security.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <utility>

#include "runtime/security/capabilities.hpp"
#include "runtime/security/rlimits.hpp"
#include "runtime/security/seccomp.hpp"

namespace ctb::security {
namespace {

// Everything that can be checked before the process changes.
struct Prepared {
    std::optional<CapabilitySets> caps;
    std::optional<SeccompFilter> filter;
};

Result<Prepared> prepare(const spec::Process& process, const std::optional<spec::Seccomp>& seccomp) {
    Prepared out;
    if (process.capabilities) {
        auto sets = parse_capability_sets(*process.capabilities);
        if (!sets) return fail(sets.error());
        out.caps = std::move(*sets);
    }
    if (auto st = check_rlimits(process.rlimits); !st) return fail(st.error());
    if (process.oom_score_adj && (*process.oom_score_adj < -1000 || *process.oom_score_adj > 1000))
        return fail(plain_error("parse", "process.oomScoreAdj", "must lie in [-1000, 1000]"));
    if (seccomp) {
        auto filter = build_seccomp_filter(*seccomp);
        if (!filter) return fail(filter.error());
        out.filter.emplace(std::move(*filter));
    }
    return out;
}

// Whether CAP_SYS_ADMIN will still be effective after step 3. Without a capabilities section the
// sets are left alone, so the answer is what we hold now, unless the uid leaves 0 and the kernel
// empties them.
bool keeps_sys_admin(const spec::Process& process, const std::optional<CapabilitySets>& caps) {
    if (caps) return std::ranges::find(caps->effective, CAP_SYS_ADMIN) != caps->effective.end();
    return process.user.uid == 0 && has_effective_capability(CAP_SYS_ADMIN);
}

Status identity_under_early_filter(const spec::Process& process, const std::optional<CapabilitySets>& caps) {
    auto st = apply_identity_and_capability_sets(process.user, caps);
    if (st) return st;
    auto e = st.error();
    e.detail += std::string(e.detail.empty() ? "" : "; ") +
                "the seccomp filter was loaded before this step (noNewPrivileges is false and CAP_SYS_ADMIN "
                "is dropped), so it must allow setgroups, setresgid, setresuid, prctl and capset";
    return fail(std::move(e));
}

}  // namespace

Status set_no_new_privileges() {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fail(sys_error("prctl PR_SET_NO_NEW_PRIVS", "process.noNewPrivileges"));
    return {};
}

Status apply_process_security(const spec::Process& process, const std::optional<spec::Seccomp>& seccomp) {
    auto prepared = prepare(process, seccomp);
    if (!prepared) return fail(prepared.error());
    if (auto st = apply_rlimits(process.rlimits); !st) return st;
    if (process.oom_score_adj)
        if (auto st = set_oom_score_adj(0, *process.oom_score_adj); !st) return st;

    const auto& filter = prepared->filter;
    bool early = filter && !process.no_new_privileges && !keeps_sys_admin(process, prepared->caps);
    if (early) {
        if (auto st = load_seccomp_filter(*filter); !st) return st;
        if (auto st = identity_under_early_filter(process, prepared->caps); !st) return st;
    } else if (auto st = apply_identity_and_capability_sets(process.user, prepared->caps); !st) {
        return st;
    }
    if (process.no_new_privileges)
        if (auto st = set_no_new_privileges(); !st) return st;
    if (filter && !early) return load_seccomp_filter(*filter);
    return {};
}

}  // namespace ctb::security

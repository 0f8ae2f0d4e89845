// Capabilities (capabilities(7), OCI process.capabilities) for the container's init, with libcap
// and prctl(2). Runs after clone, as root of the container's user namespace, right before exec.
//
// The order, and why (apply_identity_and_capabilities does all of it):
//   1. Bounding set: PR_CAPBSET_DROP each capability not listed. This needs CAP_SETPCAP in the
//      effective set, which the uid change in step 2 empties, so it comes first.
//   2. PR_SET_KEEPCAPS=1, then setgroups/setresgid/setresuid (user.hpp). Without KEEPCAPS the
//      kernel empties the permitted set when every uid leaves 0, and nothing could be raised
//      afterwards. setresuid still empties the effective set; step 3 refills it.
//   3. PR_SET_KEEPCAPS=0 (execve clears it too; we leave nothing behind), then cap_set_proc sets
//      effective, permitted and inheritable at once. Permitted may only shrink, which it does
//      from the full set that step 2 kept; inheritable must lie within the bounding set.
//   4. Ambient: clear all, then PR_CAP_AMBIENT_RAISE each. The kernel takes only capabilities
//      that are both permitted and inheritable, so this comes after step 3. One it refuses
//      (EPERM) is skipped with a warning on stderr, as runc does (`runc spec` lists ambient
//      capabilities that are not inheritable).
//
// What execve does next (capabilities(7), "Transformation of capabilities during execve()"),
// for a program without file capabilities:
//   uid != 0: permitted' = effective' = ambient. Without ambient a non-root process loses every
//             capability at exec; ambient is how a non-root container keeps one.
//   uid == 0: permitted' = effective' = bounding | inheritable. For root, the bounding set decides.
//
// Capabilities that libcap knows but the running kernel does not (above
// /proc/sys/kernel/cap_last_cap, e.g. CAP_CHECKPOINT_RESTORE on 5.8) are skipped when applying,
// as runc does, so one config.json works across kernels.
#pragma once

#include <sys/capability.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::security {

// Every capability of Linux 6.x as the spec spells it, indexed by value.
extern const std::array<std::string_view, 41> kCapabilityNames;

// "CAP_SYS_ADMIN" -> CAP_SYS_ADMIN. Names must be spelled as in the spec (upper case, CAP_
// prefix); numbers and unknown names are errors naming "<field>[<index>]".
Result<std::vector<cap_value_t>> parse_capabilities(const std::vector<std::string>& names,
                                                    const std::string& field);

// The five sets, parsed. Errors name "process.capabilities.<set>[i]".
struct CapabilitySets {
    std::vector<cap_value_t> bounding, effective, inheritable, permitted, ambient;
};
Result<CapabilitySets> parse_capability_sets(const spec::Capabilities& caps);

// Steps 1, 3 and 4 without a uid change (the process keeps its uid).
Status apply_capabilities(const spec::Capabilities& caps);
Status apply_capability_sets(const CapabilitySets& sets);

// Steps 1 to 4. With no capabilities (nullopt) the sets are left alone and only the identity
// changes, so the kernel's rules apply: leaving uid 0 then empties permitted and effective.
// The *_sets variants take already parsed sets, so a caller can reject a bad config.json before
// it changes anything.
Status apply_identity_and_capabilities(const spec::User& user, const std::optional<spec::Capabilities>& caps);
Status apply_identity_and_capability_sets(const spec::User& user, const std::optional<CapabilitySets>& sets);

// Whether `cap` is in the calling process's effective set now.
bool has_effective_capability(cap_value_t cap);

// Docker's default 14: CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID,
// SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE in bounding, effective and
// permitted; inheritable and ambient empty (as Docker since CVE-2022-24769). For this module's
// own use (tests, the conformance suite's baseline); the spec module may keep its own default.
spec::Capabilities default_capabilities();

}  // namespace ctb::security

// Seccomp filters (seccomp(2), OCI linux.seccomp) built with libseccomp.
//
// Building is a pure step (build_seccomp_filter: no process state changes), separate from
// loading it (load_seccomp_filter), so that a bad profile is rejected before the container's init
// changes anything, and so that tests can export the filter (export_seccomp_pfc) without loading.
//
// What the OCI section means here:
//   actions      SCMP_ACT_KILL (= KILL_THREAD, as runc), SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS,
//                SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG.
//                errnoRet (defaultErrnoRet for the default action) is the errno of ERRNO and the
//                message of TRACE, EPERM when absent; it is an error on any other action.
//                SCMP_ACT_NOTIFY hands the call to the seccomp agent at linux.seccomp.listenerPath
//                (load_seccomp_with_listener; never as the default action).
//   architectures SCMP_ARCH_X86, X86_64, X32, ARM, AARCH64, MIPS*, PPC*, S390*, PARISC*, RISCV64,
//                in addition to the native one. Syscalls of any other architecture kill the
//                thread (libseccomp's bad-arch action), so a 32-bit ABI cannot bypass the filter.
//   flags        SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW.
//   syscalls     names this kernel/libseccomp does not know are skipped, as runc does, so that a
//                profile can list newer syscalls. A rule whose action equals the default action
//                is skipped (libseccomp refuses it, and it changes nothing).
//   args         SCMP_CMP_NE, LT, LE, EQ, GE, GT, MASKED_EQ (value = mask, valueTwo = expected),
//                index 0..5. Conditions on distinct arguments are ANDed; when two conditions
//                name the same argument, each becomes its own rule (ORed), as in runc.
// Unknown actions, operators, architectures and flags are errors naming the field, e.g.
// "linux.seccomp.syscalls[3].action".
//
// no_new_privs is never set behind the caller's back (libseccomp's default is turned off):
// loading needs either no_new_privs or CAP_SYS_ADMIN, and security.hpp decides which.
#pragma once

#include <seccomp.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::security {

// Owns a libseccomp filter context.
class SeccompFilter {
public:
    explicit SeccompFilter(scmp_filter_ctx ctx) : ctx_(ctx) {}
    SeccompFilter(SeccompFilter&& other) noexcept : ctx_(other.release()) {}
    SeccompFilter& operator=(SeccompFilter&& other) noexcept;
    SeccompFilter(const SeccompFilter&) = delete;
    SeccompFilter& operator=(const SeccompFilter&) = delete;
    ~SeccompFilter();

    scmp_filter_ctx get() const { return ctx_; }
    scmp_filter_ctx release();

private:
    scmp_filter_ctx ctx_ = nullptr;
};

// "SCMP_ACT_ERRNO" + errnoRet -> SCMP_ACT_ERRNO(errnoRet). `field` names the rule
// ("linux.seccomp.syscalls[3]"); errors name "<field>.action" or "<field>.errnoRet".
Result<std::uint32_t> parse_seccomp_action(const std::string& action, std::optional<std::uint32_t> errno_ret,
                                           const std::string& field);

// Pure: builds the filter, loads nothing.
Result<SeccompFilter> build_seccomp_filter(const spec::Seccomp& profile);

// Loads into the calling thread (all threads with SECCOMP_FILTER_FLAG_TSYNC). Needs
// no_new_privs or CAP_SYS_ADMIN in the current user namespace; EACCES otherwise.
Status load_seccomp_filter(const SeccompFilter& filter);

// For a profile with SCMP_ACT_NOTIFY rules: build, load, and the listener descriptor the kernel
// made with the filter (SECCOMP_FILTER_FLAG_NEW_LISTENER), for the seccomp agent.
Result<UniqueFd> load_seccomp_with_listener(const spec::Seccomp& profile);

// build_seccomp_filter + load_seccomp_filter.
Status apply_seccomp(const spec::Seccomp& profile);

// The filter in libseccomp's pseudo filter code (readable text), for tests and debugging.
Result<std::string> export_seccomp_pfc(const SeccompFilter& filter);

// What build_seccomp_filter accepts, read from the tables it uses (for `ctbench-runtime features`).
struct SeccompSupport {
    std::vector<std::string> actions, operators, archs, flags;
};
SeccompSupport seccomp_support();

// Docker-like allow-list profile; see default_profile.cpp for exactly what it promises.
spec::Seccomp default_seccomp_profile();

}  // namespace ctb::security

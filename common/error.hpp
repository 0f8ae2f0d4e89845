// The one error type of the project: which step failed, on which object, with which errno.
// Every layer returns ctb::Result<T>; the CLI prints Error::message() and maps it to exit code 2.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace ctb {

struct Error {
    std::string step;    // what we were doing: "mount /proc", "parse config.json"
    std::string object;  // what we did it to: a path, a field, a pid ("" if none)
    int err = 0;         // errno, 0 when the failure is not a system call's
    std::string detail;  // free text: the expected value, the child's message ...

    // "mount /proc on /run/ctbench/x/rootfs/proc: EPERM (Operation not permitted)"
    std::string message() const;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

// Failure of a system call: captures errno at the call site.
Error sys_error(std::string step, std::string object = {});
Error sys_error(std::string step, std::string object, int err);
// Failure that is not a system call's: bad input, unexpected content.
Error plain_error(std::string step, std::string object, std::string detail);

inline std::unexpected<Error> fail(Error e) { return std::unexpected<Error>(std::move(e)); }

// "EPERM" for EPERM; "errno 4242" for unknown values.
std::string errno_name(int err);

}  // namespace ctb

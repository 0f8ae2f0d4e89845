// process.terminal: the pty of a container process and its master's way to whoever holds the
// terminal (runc's protocol: the master fd sent with SCM_RIGHTS over a unix socket, which is
// either the caller's --console-socket or, for a foreground `run` or `exec -t`, a socket pair
// whose other end the runtime itself relays to its own stdin and stdout).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::container {

// The caller's --console-socket, connected in the runtime's mount namespace (where its path
// resolves); the container side sends the pty master over it.
Result<UniqueFd> connect_console_socket(const std::string& path);

// In the process that is about to exec the container's program: opens a pty from /dev/ptmx of
// its mount namespace (the container's devpts), gives it process.consoleSize (TIOCSWINSZ), sends
// the master over console_fd (then closed) and makes the slave its controlling terminal and
// stdin, stdout and stderr.
Status attach_new_pty(int console_fd, const std::optional<spec::ConsoleSize>& size);

// The runtime's end: the master sent over `sock`, waited for up to `timeout`.
Result<UniqueFd> receive_pty_master(int sock, std::chrono::milliseconds timeout);

}  // namespace ctb::container

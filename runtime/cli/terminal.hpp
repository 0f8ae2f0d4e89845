// A foreground container process with process.terminal and no --console-socket (`run`,
// `exec -t`): the caller's terminal is attached as runc attaches it. The init (or the exec'd
// process) sends its pty master over a socket pair; this side relays its own stdin to the master
// and the master to its own stdout, with the caller's terminal (when stdin is one) in raw mode
// and its window size given to the pty, again on every SIGWINCH. At the end of the caller's
// stdin (a pipe), the pty's EOF character is written, so a shell reading it ends as it would at
// a terminal.
#pragma once

#include <termios.h>

#include <optional>
#include <thread>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::runtime_cli {

// The caller's window size when its stdin is a terminal. Given to the pty as its consoleSize, so
// the process sees it from its first instruction (the relay then follows SIGWINCH).
std::optional<spec::ConsoleSize> caller_size();

class TerminalRelay {
public:
    // The pair: `theirs` goes to the container (CreateOptions::console_fd, exec's console_fd),
    // and is closed by the caller once the container side holds it.
    static Result<TerminalRelay> make(UniqueFd& theirs);
    // Starts relaying in a thread: waits for the master, then copies both ways.
    void start();
    // Once the process has exited: the rest of its output, then the caller's terminal restored.
    void finish();
    TerminalRelay(TerminalRelay&&) noexcept;
    TerminalRelay& operator=(TerminalRelay&&) = delete;
    ~TerminalRelay();

private:
    TerminalRelay() = default;
    void run();
    UniqueFd ours_, stop_read_, stop_write_;
    std::thread thread_;
    std::optional<termios> saved_;
};

}  // namespace ctb::runtime_cli

// Signal names for `kill`, and forwarding of the runtime's own signals to the container (`run`).
#pragma once

#include <sys/types.h>

#include <string>

#include "common/error.hpp"

namespace ctb::runtime_cli {

// "TERM", "SIGTERM", "15" -> 15; the error names the argument and the accepted forms.
Result<int> parse_signal(const std::string& text);

// SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 received by the runtime go to `pid` instead.
void forward_signals_to(pid_t pid);

}  // namespace ctb::runtime_cli

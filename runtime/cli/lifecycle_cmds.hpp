// The lifecycle commands both ctbench-runtime binaries share: the full CLI (main.cpp, CLI11,
// networking, images) and the static front end (fast_main.cpp), which runs the common
// create/run/start/state/kill/delete calls itself and hands everything else to the full CLI.
// One implementation, so both print and exit alike.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "runtime/cli/terminal.hpp"
#include "runtime/container/container.hpp"

namespace ctb::runtime_cli {

// 0, or the error on stderr as "ctbench-runtime: <message>" and 1.
int report(const Status& s);

struct ContainerArgs {
    std::string id, bundle = ".", pid_file, console_socket;
};

// CreateOptions from the bundle's config.json (bundle and pid file made absolute).
Result<container::CreateOptions> create_options(const std::string& root, const ContainerArgs& a);

// process.terminal without --console-socket: a foreground `run` whose stdin is a terminal
// attaches it (the returned relay; o.console_fd is set to `theirs`, which the caller closes after
// create); otherwise the flag is ignored with a warning and the process keeps the caller's stdio.
Result<std::optional<TerminalRelay>> prepare_terminal(container::CreateOptions& o, bool foreground_run,
                                                      UniqueFd& theirs);

// `run` after a successful create: start, then (unless detached) forward signals, relay the
// terminal (if any), wait, and `remove` the container. Returns the exit code (the container's status).
int run_created(container::Container& c, bool detach, const std::function<Status()>& remove,
                TerminalRelay* relay = nullptr);

int cmd_start(const std::string& root, const std::string& id);
int cmd_state(const std::string& root, const std::string& id);
int cmd_kill(const std::string& root, const std::string& id, const std::string& sig, bool all);

}  // namespace ctb::runtime_cli

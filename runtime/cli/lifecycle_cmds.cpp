#include "runtime/cli/lifecycle_cmds.hpp"

#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>

#include "common/files.hpp"
#include "runtime/cli/signals.hpp"
#include "runtime/log.hpp"
#include "runtime/spec/parse.hpp"

namespace ctb::runtime_cli {

using container::Container;

int report(const Status& s) {
    if (s) return 0;
    rtlog::error(s.error().message());
    return 1;
}

Result<container::CreateOptions> create_options(const std::string& root, const ContainerArgs& a) {
    container::CreateOptions o;
    o.id = a.id;
    o.bundle = std::filesystem::absolute(a.bundle).lexically_normal().string();
    const std::string path = o.bundle + "/config.json";
    auto text = read_file(path);
    if (!text) return fail(text.error());
    auto spec = spec::parse_spec_text(*text, path);
    if (!spec) return fail(spec.error());
    o.spec = std::move(*spec);
    o.spec_json = std::move(*text);
    o.state_root = root;
    o.pid_file = a.pid_file.empty() ? "" : std::filesystem::absolute(a.pid_file).string();
    o.console_socket = a.console_socket;
    return o;
}

Result<std::optional<TerminalRelay>> prepare_terminal(container::CreateOptions& o, bool foreground_run,
                                                      UniqueFd& theirs) {
    if (!o.spec.process.terminal || !o.console_socket.empty()) return std::nullopt;
    // Only a foreground run whose caller sits at a terminal has one to attach. Otherwise the
    // flag is ignored and the process keeps the caller's stdio (runc refuses create and run -d,
    // and gives a piped run a pty that echoes and rewrites its input; see README).
    if (!foreground_run || !::isatty(STDIN_FILENO)) {
        rtlog::warning("process.terminal ignored: no --console-socket, and " +
                       std::string(foreground_run ? "stdin is not a terminal" : "nobody holds a terminal after create or run -d") +
                       "; the process keeps the caller's stdio");
        return std::nullopt;
    }
    auto relay = TerminalRelay::make(theirs);
    if (!relay) return fail(relay.error());
    o.console_fd = theirs.get();
    if (auto size = caller_size()) {
        o.spec.process.console_size = size;  // the caller's wins, as with runc
        o.spec_json.clear();                 // the saved config.json says so too
    }
    return std::optional<TerminalRelay>(std::move(*relay));
}

int run_created(Container& c, bool detach, const std::function<Status()>& remove, TerminalRelay* relay) {
    if (detach) return report(c.start());
    forward_signals_to(c.pid());
    if (relay) relay->start();
    auto started = c.start();
    Result<int> status = started ? c.wait() : Result<int>(std::unexpected(started.error()));
    if (relay) relay->finish();
    auto removed = remove();
    if (!status) return report(fail(status.error()));
    if (!removed) report(removed);
    return *status;
}

int cmd_start(const std::string& root, const std::string& id) {
    auto c = Container::load(root, id);
    return report(c ? c->start() : fail(c.error()));
}

int cmd_state(const std::string& root, const std::string& id) {
    auto c = Container::load(root, id);
    if (!c) return report(fail(c.error()));
    fmt::print("{}\n", container::oci_state_json(c->state()));
    return 0;
}

int cmd_kill(const std::string& root, const std::string& id, const std::string& sig, bool all) {
    auto signal = parse_signal(sig);
    if (!signal) return report(fail(signal.error()));
    auto c = Container::load(root, id);
    if (!c) return report(fail(c.error()));
    return report(c->kill(*signal, all));
}

}  // namespace ctb::runtime_cli

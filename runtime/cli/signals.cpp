#include "runtime/cli/signals.hpp"

#include <signal.h>
#include <string.h>

#include <cctype>
#include <charconv>

namespace ctb::runtime_cli {
namespace {

pid_t g_forward_to = 0;

void forward(int sig) {
    if (g_forward_to > 0) ::kill(g_forward_to, sig);
}

}  // namespace

Result<int> parse_signal(const std::string& text) {
    int number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec == std::errc() && end == text.data() + text.size() && number > 0 && number < NSIG) return number;
    std::string name = text;
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name.starts_with("SIG")) name = name.substr(3);
    for (int s = 1; s < NSIG; ++s)
        if (const char* abbrev = ::sigabbrev_np(s); abbrev && name == abbrev) return s;
    return fail(plain_error("kill", "signal '" + text + "'", "expected a signal name (TERM, SIGKILL) or number 1-64"));
}

void forward_signals_to(pid_t pid) {
    g_forward_to = pid;
    struct sigaction sa {};
    sa.sa_handler = forward;
    ::sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) ::sigaction(sig, &sa, nullptr);
}

}  // namespace ctb::runtime_cli

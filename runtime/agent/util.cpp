// Helpers shared by every command: argument parsing, errno names, JSON output, time.
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "agent.hpp"
#include "common/fd.hpp"

namespace agent {

SysError::SysError(const std::string& s, int e) : std::runtime_error(s + ": " + errno_name(e)), step(s), err(e) {}

std::string errno_name(int err) {
    // strerrorname_np (glibc 2.32) needs no locale data, so it works in a static binary in any rootfs.
    const char* name = ::strerrorname_np(err);
    return name ? name : "errno " + std::to_string(err);
}

long long parse_int(const std::string& what, const std::string& text, long long min, long long max) {
    long long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        throw UsageError(what + ": expected an integer, got '" + text + "'");
    if (v < min || v > max)
        throw UsageError(what + ": " + text + " is outside [" + std::to_string(min) + ", " +
                         std::to_string(max) + "]");
    return v;
}

double parse_seconds(const std::string& what, const std::string& text) {
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() || !std::isfinite(v) || v < 0)
        throw UsageError(what + ": expected non-negative seconds, got '" + text + "'");
    return v;
}

double seconds_option(const Args& args, const std::string& name, double fallback) {
    auto v = args.value(name);
    return v ? parse_seconds("--" + name, *v) : fallback;
}

void emit(const json& doc) {
    // replace: file contents and environment may hold bytes that are not UTF-8; never throw on them.
    std::string line = doc.dump(-1, ' ', false, json::error_handler_t::replace);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

double monotonic_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void sleep_seconds(double seconds) {
    if (seconds <= 0) return;
    timespec req{};
    req.tv_sec = static_cast<time_t>(seconds);
    req.tv_nsec = static_cast<long>((seconds - static_cast<double>(req.tv_sec)) * 1e9);
    timespec rem{};
    while (::nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
}

std::string read_text(const std::string& path, std::size_t max_bytes) {
    ctb::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw SysError("open " + path, errno);
    std::string out;
    char buf[8192];
    while (out.size() < max_bytes) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw SysError("read " + path, errno);
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    if (out.size() > max_bytes) out.resize(max_bytes);
    return out;
}

json probe_result(int err) {
    return json{{"ok", err == 0}, {"errno", err}, {"errno_name", err == 0 ? json(nullptr) : json(errno_name(err))}};
}

}  // namespace agent

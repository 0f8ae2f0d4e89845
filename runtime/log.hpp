// The runtime's diagnostics: every error and warning goes to stderr as
// "ctbench-runtime: [warning: ]<message>" and, with `--log FILE`, also to FILE the way runc writes
// its log (engines such as containerd read that file to report why a runtime call failed):
//   --log-format json  {"level":"error","msg":"...","time":"2026-12-06T16:29:47.123456789Z"}
//   --log-format text  time="2026-12-06T16:29:47.123456789Z" level=error msg="..."
// one line per message, appended (O_APPEND: the front end, the full CLI it hands over to, and the
// container's init, which inherits the descriptor until its exec closes it, all write whole lines).
// Header-only, so that every area library (security, container, ...) reaches the one sink of the
// process without a link dependency between them.
#pragma once

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace ctb::rtlog {

enum class Format { text, json };

struct Sink {
    int fd = -1;
    Format format = Format::text;
};

inline Sink& sink() {
    static Sink s;
    return s;
}

// JSON string body (also valid inside logrus' double-quoted text values).
inline std::string escape(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else out += static_cast<char>(c);
    }
    return out;
}

// RFC 3339 with nanoseconds, UTC (Go's time.RFC3339Nano, which runc's logrus uses).
inline std::string now() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    ::gmtime_r(&ts.tv_sec, &t);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                  t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
    return buf;
}

inline std::string line(std::string_view level, std::string_view msg) {
    if (sink().format == Format::json)
        return "{\"level\":\"" + std::string(level) + "\",\"msg\":\"" + escape(msg) + "\",\"time\":\"" + now() + "\"}\n";
    return "time=\"" + now() + "\" level=" + std::string(level) + " msg=\"" + escape(msg) + "\"\n";
}

inline void write_all(int fd, const std::string& text) {
    for (std::size_t done = 0; done < text.size();) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n <= 0) return;  // a diagnostic that cannot be written is not worth failing for
        done += static_cast<std::size_t>(n);
    }
}

// level: "error", "warning" or "info" (logrus' names, as runc writes them; info shows as "note").
inline void emit(std::string_view level, std::string_view msg) {
    std::string shown = level == "error" ? "" : level == "info" ? "note: " : std::string(level) + ": ";
    write_all(STDERR_FILENO, "ctbench-runtime: " + shown + std::string(msg) + "\n");
    if (sink().fd >= 0) write_all(sink().fd, line(level, msg));
}
// Into the log only (the message is on stderr already, e.g. printed by the argument parser).
inline void log_only(std::string_view level, std::string_view msg) {
    if (sink().fd >= 0) write_all(sink().fd, line(level, msg));
}
inline void error(std::string_view msg) { emit("error", msg); }
inline void warning(std::string_view msg) { emit("warning", msg); }

// --log and --log-format. The file is created 0644 and appended to, as runc does.
inline Status open(const std::string& path, const std::string& format) {
    if (format != "text" && format != "json")
        return fail(plain_error("--log-format", "'" + format + "'", "must be text or json"));
    sink().format = format == "json" ? Format::json : Format::text;
    if (path.empty()) return {};
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return fail(sys_error("--log: open", path));
    sink().fd = fd;
    return {};
}

// The global options before the command ("--log F", "--log=F", "--log-format F"), read before
// any parsing so that a usage error is logged too. An unknown format or a log file that cannot be
// opened is an error naming the option.
inline Status open_from_argv(int argc, char** argv) {
    std::string path, format = "text";
    for (int i = 1; i < argc && argv[i][0] == '-'; ++i) {
        std::string_view a = argv[i];
        if (a == "--root") {  // the other global option with a separate value
            ++i;
            continue;
        }
        for (auto [name, target] : {std::pair{std::string_view("--log"), &path}, std::pair{std::string_view("--log-format"), &format}}) {
            if (a == name && i + 1 < argc) *target = argv[++i];
            else if (a.size() > name.size() && a.starts_with(name) && a[name.size()] == '=') *target = std::string(a.substr(name.size() + 1));
            else continue;
            break;
        }
    }
    return open(path, format);
}

}  // namespace ctb::rtlog

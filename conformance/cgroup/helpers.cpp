#include "conformance/cgroup/helpers.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "common/deadline.hpp"
#include "common/files.hpp"
#include "runtime/cgroups/detect.hpp"
#include "runtime/cgroups/manager.hpp"  // missing_controller_of: reading the runtime's refusal

namespace ctb::conformance::cgroup_cases {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string part; std::getline(in, part, sep);) out.push_back(part);
    return out;
}

struct CgroupLine {
    std::vector<std::string> controllers;  // empty for the v2 line "0::/path"
    std::string path;
};

// /proc/<pid>/cgroup: "hierarchy-id:controller,list:/path" per line.
Result<std::vector<CgroupLine>> cgroup_lines(pid_t pid) {
    std::string file = fmt::format("/proc/{}/cgroup", pid);
    auto text = read_file(file);
    if (!text) return fail(text.error());
    std::vector<CgroupLine> out;
    for (const auto& line : split(*text, '\n')) {
        auto first = line.find(':');
        auto second = first == std::string::npos ? first : line.find(':', first + 1);
        if (second == std::string::npos) continue;
        std::string list = line.substr(first + 1, second - first - 1);
        out.push_back({list.empty() ? std::vector<std::string>{} : split(list, ','), line.substr(second + 1)});
    }
    return out;
}

}  // namespace

RunRequest request_for(spec::Spec s) {
    RunRequest r;
    r.spec = std::move(s);
    return r;
}

spec::Resources& resources(spec::Spec& s) {
    if (!s.linux.resources) s.linux.resources.emplace();
    return *s.linux.resources;
}

std::string script_then_hold(const std::string& script) {
    return fmt::format("{}\necho {}\nexec {} sleep 60\n", script, kDoneMarker, kAgent);
}

Verdict runtime_failure(const std::string& step, const Error& e) {
    if (auto controller = cgroup::missing_controller_of(e))
        return Verdict::skip(fmt::format("the runtime cannot use the {} controller here: {}", *controller, e.message()));
    return Verdict::error(fmt::format("{}: {}", step, e.message()));
}

std::string hierarchy_of(const report::HostProbe& host, const std::string& controller) {
    const auto* c = host.controller(controller);
    return c ? c->hierarchy : "none";
}

Result<std::string> cgroup_dir(const report::HostProbe& host, pid_t pid, const std::string& controller) {
    auto lines = cgroup_lines(pid);
    if (!lines) return fail(lines.error());
    bool v2 = controller.empty() || hierarchy_of(host, controller) == "v2";
    std::string mount = v2 ? host.cgroups.v2_mount : (host.controller(controller) ? host.controller(controller)->mount : "");
    if (mount.empty()) return fail(plain_error("find cgroup", controller, "the host probe found no mount for it"));
    for (const auto& l : *lines) {
        bool match = v2 ? l.controllers.empty()
                        : std::find(l.controllers.begin(), l.controllers.end(), controller) != l.controllers.end();
        if (match) return mount + l.path;
    }
    return fail(plain_error("find cgroup", fmt::format("/proc/{}/cgroup", pid),
                            fmt::format("no line for {}", v2 ? "the unified hierarchy" : controller)));
}

Result<RunOutput> wait_for_output(RunningContainer& c, const std::string& marker, std::chrono::milliseconds timeout) {
    Result<RunOutput> last = RunOutput{};
    retry_until(Deadline(timeout), [&] {
        last = c.wait(std::chrono::milliseconds(20));
        return !last || last->status != -1 || last->out.find(marker) != std::string::npos;
    });
    return last;
}

std::map<std::string, std::uint64_t> parse_keyed(const std::string& text) {
    std::map<std::string, std::uint64_t> out;
    for (const auto& line : split(text, '\n')) {
        std::istringstream in(line);
        std::string key;
        std::uint64_t value = 0;
        if (in >> key >> value) out[key] = value;
    }
    return out;
}

std::optional<std::string> line_value(const std::string& text, const std::string& key) {
    for (const auto& line : split(text, '\n'))
        if (line.starts_with(key + "=")) return line.substr(key.size() + 1);
    return std::nullopt;
}

std::optional<long> line_int(const std::string& text, const std::string& key) {
    auto value = line_value(text, key);
    if (!value) return std::nullopt;
    try {
        return std::stol(*value);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

Result<double> cpu_seconds(pid_t pid) {
    if (auto sched = read_file(fmt::format("/proc/{}/schedstat", pid))) {
        std::istringstream in(*sched);
        unsigned long long ns = 0;
        if (in >> ns) return static_cast<double>(ns) / 1e9;
    }
    std::string file = fmt::format("/proc/{}/stat", pid);
    auto stat = read_file(file);
    if (!stat) return fail(stat.error());
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    std::istringstream in(stat->substr(stat->rfind(')') + 2));
    std::vector<std::string> fields;
    for (std::string f; in >> f;) fields.push_back(f);
    if (fields.size() < 13) return fail(plain_error("parse", file, "too few fields"));
    double ticks = std::stod(fields[11]) + std::stod(fields[12]);
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace ctb::conformance::cgroup_cases

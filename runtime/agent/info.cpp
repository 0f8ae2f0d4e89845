// `info`: what the process sees of itself from inside the container. Each source is read on its
// own; one that is missing (no /proc, a masked path, an unsupported namespace) becomes null plus an
// entry in "errors", so a case can still check everything else.
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <optional>
#include <sstream>
#include <tuple>

#include "agent.hpp"

extern char** environ;

namespace agent {
namespace {

// Runs one source; a failure is recorded under its name and yields null.
template <class F>
json attempt(json& errors, const std::string& source, F&& read) {
    try {
        return read();
    } catch (const std::exception& e) {
        errors.push_back({{"source", source}, {"error", e.what()}});
        return nullptr;
    }
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

std::vector<std::string> split_words(const std::string& line) {
    std::vector<std::string> words;
    std::istringstream in(line);
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

json id_triple(unsigned real, unsigned effective, unsigned saved) {
    return {{"real", real}, {"effective", effective}, {"saved", saved}};
}

json identity() {
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    ::getresuid(&ru, &eu, &su);
    ::getresgid(&rg, &eg, &sg);
    std::vector<gid_t> groups(static_cast<std::size_t>(std::max(::getgroups(0, nullptr), 0)));
    int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
    groups.resize(static_cast<std::size_t>(std::max(n, 0)));
    return {{"pid", ::getpid()}, {"ppid", ::getppid()}, {"uid", id_triple(ru, eu, su)},
            {"gid", id_triple(rg, eg, sg)}, {"groups", groups}};
}

// uid_map / gid_map: one [inside, outside, count] triple per line.
json id_map(const std::string& path) {
    json out = json::array();
    for (const auto& line : split_lines(read_text(path))) {
        auto w = split_words(line);
        if (w.size() != 3) throw std::runtime_error(path + ": unexpected line '" + line + "'");
        out.push_back({std::stoull(w[0]), std::stoull(w[1]), std::stoull(w[2])});
    }
    return out;
}

// "Key:\tvalue" lines of /proc/self/status.
std::map<std::string, std::string> proc_status() {
    std::map<std::string, std::string> fields;
    for (const auto& line : split_lines(read_text("/proc/self/status"))) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        fields[line.substr(0, colon)] = value;
    }
    return fields;
}

json status_field(const std::map<std::string, std::string>& status, const std::string& key, bool as_int) {
    auto it = status.find(key);
    if (it == status.end()) throw std::runtime_error("/proc/self/status has no " + key);
    return as_int ? json(std::stoll(it->second)) : json(it->second);
}

void add_status(json& doc, json& errors) {
    std::optional<std::map<std::string, std::string>> status;
    attempt(errors, "/proc/self/status", [&] {
        status = proc_status();
        return json(true);
    });
    auto field = [&](const char* key, bool as_int) {
        return status ? attempt(errors, key, [&] { return status_field(*status, key, as_int); }) : json(nullptr);
    };
    doc["capabilities"] = {{"inheritable", field("CapInh", false)}, {"permitted", field("CapPrm", false)},
                           {"effective", field("CapEff", false)},   {"bounding", field("CapBnd", false)},
                           {"ambient", field("CapAmb", false)}};
    // Without /proc, prctl still answers for no_new_privs (PR_GET_SECCOMP is not asked: in strict
    // mode it would kill us).
    json nnp = field("NoNewPrivs", true);
    doc["no_new_privs"] = nnp.is_null() ? json(::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) : json(nnp == 1);
    doc["seccomp"] = field("Seccomp", true);
}

json namespaces(json& errors) {
    json out = json::object();
    for (const char* ns : {"mnt", "uts", "ipc", "pid", "pid_for_children", "net", "user", "cgroup", "time",
                           "time_for_children"}) {
        std::string path = std::string("/proc/self/ns/") + ns;
        out[ns] = attempt(errors, path, [&] {
            struct stat st{};
            if (::stat(path.c_str(), &st) != 0) throw SysError("stat " + path, errno);
            return json(static_cast<unsigned long long>(st.st_ino));
        });
    }
    return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

// Fields: id parent major:minor root mount_point options [optional...] - fstype source super_options
json mounts() {
    json out = json::array();
    for (const auto& line : split_lines(read_text("/proc/self/mountinfo", 16 << 20))) {
        auto w = split_words(line);
        auto dash = std::find(w.begin(), w.end(), "-");
        if (w.size() < 6 || dash == w.end() || w.end() - dash < 3) continue;
        out.push_back({{"mount_point", unescape_octal(w[4])}, {"root", unescape_octal(w[3])}, {"options", w[5]},
                       {"fstype", dash[1]}, {"source", unescape_octal(dash[2])},
                       {"super_options", w.end() - dash > 3 ? json(dash[3]) : json(nullptr)}});
    }
    return out;
}

json environment() {
    json out = json::object();
    for (char** e = environ; e && *e; ++e) {
        std::string kv = *e;
        auto eq = kv.find('=');
        out[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    }
    return out;
}

json clock_seconds(clockid_t id, const char* name) {
    timespec ts{};
    if (::clock_gettime(id, &ts) != 0) throw SysError(std::string("clock_gettime ") + name, errno);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Seconds since each clock's epoch; a time namespace offsets monotonic and boottime.
json clocks(json& errors) {
    json out = json::object();
    for (auto [id, key, name] : {std::tuple{CLOCK_MONOTONIC, "monotonic", "CLOCK_MONOTONIC"},
                                 {CLOCK_BOOTTIME, "boottime", "CLOCK_BOOTTIME"},
                                 {CLOCK_REALTIME, "realtime", "CLOCK_REALTIME"}})
        out[key] = attempt(errors, name, [&] { return clock_seconds(id, name); });
    return out;
}

json uptime() {
    auto w = split_words(read_text("/proc/uptime"));
    if (w.size() < 2) throw std::runtime_error("/proc/uptime: unexpected content");
    return {{"uptime_s", std::stod(w[0])}, {"idle_s", std::stod(w[1])}};
}

json rlimits() {
    static const std::pair<__rlimit_resource_t, const char*> kLimits[] = {
        {RLIMIT_AS, "RLIMIT_AS"}, {RLIMIT_CORE, "RLIMIT_CORE"}, {RLIMIT_CPU, "RLIMIT_CPU"},
        {RLIMIT_DATA, "RLIMIT_DATA"}, {RLIMIT_FSIZE, "RLIMIT_FSIZE"}, {RLIMIT_LOCKS, "RLIMIT_LOCKS"},
        {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"}, {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"}, {RLIMIT_NICE, "RLIMIT_NICE"},
        {RLIMIT_NOFILE, "RLIMIT_NOFILE"}, {RLIMIT_NPROC, "RLIMIT_NPROC"}, {RLIMIT_RSS, "RLIMIT_RSS"},
        {RLIMIT_RTPRIO, "RLIMIT_RTPRIO"}, {RLIMIT_RTTIME, "RLIMIT_RTTIME"},
        {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"}, {RLIMIT_STACK, "RLIMIT_STACK"}};
    // OCI names them RLIMIT_*; "unlimited" is spelled out rather than given as 2^64-1.
    auto value = [](rlim_t v) {
        return v == RLIM_INFINITY ? json("unlimited") : json(static_cast<unsigned long long>(v));
    };
    json out = json::object();
    for (auto [res, name] : kLimits) {
        rlimit rl{};
        if (::getrlimit(res, &rl) != 0) throw SysError(std::string("getrlimit ") + name, errno);
        out[name] = {{"soft", value(rl.rlim_cur)}, {"hard", value(rl.rlim_max)}};
    }
    return out;
}

json processes() {
    DIR* dir = ::opendir("/proc");
    if (!dir) throw SysError("opendir /proc", errno);
    std::vector<long> pids;
    while (dirent* e = ::readdir(dir)) {
        std::string name = e->d_name;
        auto digit = [](char c) { return c >= '0' && c <= '9'; };
        if (!name.empty() && std::all_of(name.begin(), name.end(), digit)) pids.push_back(std::stol(name));
    }
    ::closedir(dir);
    std::sort(pids.begin(), pids.end());
    return pids;
}

void add_uname(json& doc, json& errors) {
    utsname u{};
    bool ok = !attempt(errors, "uname", [&] {
                   if (::uname(&u) != 0) throw SysError("uname", errno);
                   return json(true);
               }).is_null();
    doc["hostname"] = ok ? json(u.nodename) : json(nullptr);
    doc["domainname"] = ok ? json(u.domainname) : json(nullptr);
    doc["kernel_release"] = ok ? json(u.release) : json(nullptr);
}

}  // namespace

int cmd_info(const Args&) {
    json doc = identity();
    json errors = json::array();
    doc["uid_map"] = attempt(errors, "/proc/self/uid_map", [] { return id_map("/proc/self/uid_map"); });
    doc["gid_map"] = attempt(errors, "/proc/self/gid_map", [] { return id_map("/proc/self/gid_map"); });
    doc["setgroups"] = attempt(errors, "/proc/self/setgroups", [] {
        auto w = split_words(read_text("/proc/self/setgroups"));
        return w.empty() ? json("") : json(w[0]);
    });
    add_status(doc, errors);
    add_uname(doc, errors);
    doc["namespaces"] = namespaces(errors);
    doc["cgroup"] = attempt(errors, "/proc/self/cgroup", [] { return split_lines(read_text("/proc/self/cgroup")); });
    doc["mounts"] = attempt(errors, "/proc/self/mountinfo", mounts);
    doc["cwd"] = attempt(errors, "cwd", [] {
        char buf[4096];
        if (!::getcwd(buf, sizeof buf)) throw SysError("getcwd", errno);
        return json(buf);
    });
    doc["environment"] = environment();
    doc["clocks"] = clocks(errors);
    doc["uptime"] = attempt(errors, "/proc/uptime", uptime);
    doc["interfaces"] = attempt(errors, "interfaces", interfaces_json);
    doc["rlimits"] = attempt(errors, "rlimits", rlimits);
    doc["oom_score_adj"] = attempt(errors, "/proc/self/oom_score_adj",
                                   [] { return json(std::stoi(read_text("/proc/self/oom_score_adj"))); });
    doc["processes"] = attempt(errors, "/proc", processes);
    doc["errors"] = errors;
    emit(doc);
    return 0;
}

}  // namespace agent

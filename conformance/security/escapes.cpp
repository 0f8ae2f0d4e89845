// security.exe_overwrite_blocked and security.no_fd_leak*: the two classic runtime escapes.
//
// CVE-2019-5736: a process of the runtime that becomes visible inside the container before it
// execs the container's program exposes the runtime binary as /proc/<pid>/exe; the container
// opens it and overwrites the host's runtime. What is proven here, for any adapter: (1) every
// /proc/<pid>/exe the container can see refuses to open for writing (ETXTBSY or EACCES), the
// init's included, and it names the agent inside the rootfs; (2) the container's init on the
// host is not the runtime binary (different inode); (3) the runtime binary on the host (for the
// built-in library: the executable of this very process, from which the init is cloned) keeps
// its inode, size, mtime and ctime. The race against a runtime process caught mid-exec is not attempted.
//
// CVE-2024-21626: a runtime descriptor (e.g. of a host cgroup directory) leaks into the container
// and process.cwd "/proc/self/fd/N" puts the process in a host directory. The case process opens
// a host directory without O_CLOEXEC before starting the container, as a runtime bug would, and
// checks that neither the init nor an exec'd process holds it, and that cwd cannot reach it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include <sstream>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "common/subprocess.hpp"
#include "conformance/harness/registry.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::sec {
namespace {

using K = ::ctb::conformance::Requirement::Kind;
using nlohmann::json;

std::string readlink_str(const std::string& path) {
    char buf[4096];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    return n < 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
}

// The binary that runs containers for this adapter, as a path the host can hash.
std::string runtime_binary(const std::string& runtime) {
    if (runtime.empty() || runtime == "ctbench") return readlink_str("/proc/self/exe");
    if (runtime.find('/') != std::string::npos) return runtime;
    return find_executable(runtime).value_or("");
}

// Any write to a file moves its ctime (which no unprivileged caller can set back) and mtime;
// comparing these with the inode and size is as strong as a hash for "was it written", and costs
// nothing on a 100+ MB debug binary.
Result<std::string> fingerprint(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fail(sys_error("stat", path));
    return fmt::format("dev {} ino {} size {} mtime {}.{:09} ctime {}.{:09}", st.st_dev, st.st_ino, st.st_size,
                       st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

bool same_inode(const std::string& a, const std::string& b) {
    struct stat sa {
    }, sb{};
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

// Tries every /proc/<pid>/exe the container can see, one agent `open --write` each.
std::vector<Probe> exe_probes() {
    return {{"self_exe", agent_argv({"open", "/proc/self/exe", "--write"})},
            {"init_exe_link", {"/bin/readlink", "/proc/1/exe"}},
            {"init_exe", agent_argv({"open", "/proc/1/exe", "--write"})},
            {"every_exe",
             {"/bin/sh", "-c",
              std::string("for e in /proc/[0-9]*/exe; do echo \"$e\"; ") + kAgent + " open \"$e\" --write; done"}}};
}

bool write_refused(const ProbeResult& r) { return r.errno_name() == "ETXTBSY" || r.errno_name() == "EACCES"; }

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t pos = 0; (pos = text.find(what, pos)) != std::string::npos; ++pos) ++n;
    return n;
}

Verdict exe_overwrite_blocked(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    std::string binary = runtime_binary(ctx.runtime);
    if (binary.empty()) setup_failed("cannot find the runtime binary of " + ctx.runtime);
    auto before = must(fingerprint(binary));

    json evidence{{"runtime_binary", binary}, {"binary_before", before}};
    {
        auto c = must(start(*rt, RunRequest{agent_spec({"sleep", "10"})}));
        std::string host_exe = fmt::format("/proc/{}/exe", c->pid());
        evidence["init_is_runtime_binary"] = same_inode(host_exe, binary);
        auto r = must(exec_probes(*c, exe_probes()));
        for (const auto& p : r) evidence[p.name] = p.evidence();  // every_exe: replaced below
        const std::string& every = find(r, "every_exe")->output;
        evidence["every_exe"] = {{"tried", occurrences(every, "\"ok\":")},
                                 {"refused", occurrences(every, "\"ok\":false")},
                                 {"output", every}};
        evidence["writable_exes"] = occurrences(every, "\"ok\":true");
        c.stop();
        auto after = must(fingerprint(binary));
        evidence["binary_after"] = after;
        std::vector<std::string> wrong;
        if (!write_refused(*find(r, "self_exe"))) wrong.push_back("/proc/self/exe opened for writing");
        if (!write_refused(*find(r, "init_exe"))) wrong.push_back("/proc/1/exe opened for writing");
        if (evidence["writable_exes"] != 0) wrong.push_back("some /proc/<pid>/exe opened for writing");
        if (evidence["every_exe"]["tried"] < 2) wrong.push_back("the /proc/<pid>/exe sweep did not run");
        if (find(r, "init_exe_link")->output.find(kAgent) != 0) wrong.push_back("/proc/1/exe is not the agent");
        if (evidence["init_is_runtime_binary"] == true) wrong.push_back("the container's init is the runtime binary");
        if (after != before) wrong.push_back("the runtime binary changed");
        if (!wrong.empty()) return Verdict::fail(fmt::format("{}", fmt::join(wrong, "; ")), evidence);
    }
    return Verdict::pass(evidence);
}

// A host directory, opened the way a leaky runtime would hold it: no O_CLOEXEC. Its number is
// pushed high (fd 42), away from anything a runtime opens itself.
struct Marker {
    ScratchDir dir;
    UniqueFd fd;
    static constexpr int kFd = 42;
};

Result<Marker> open_marker() {
    ScratchDir dir("security-fd");
    if (auto s = write_file(dir.path() + "/ctbench-host-marker", "host\n"); !s) return fail(s.error());
    if (::fcntl(Marker::kFd, F_GETFD) >= 0) return fail(plain_error("open marker", "fd 42", "already in use"));
    UniqueFd raw(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY));
    if (!raw) return fail(sys_error("open", dir.path()));
    if (::dup2(raw.get(), Marker::kFd) < 0) return fail(sys_error("dup2", dir.path()));
    return Marker{std::move(dir), UniqueFd(Marker::kFd)};
}

// "3 -> /run/ctbench/..." per open descriptor of pid, from the host's /proc.
std::map<int, std::string> host_fds(pid_t pid) {
    std::map<int, std::string> out;
    for (int fd = 0; fd < 1024; ++fd) {
        std::string target = readlink_str(fmt::format("/proc/{}/fd/{}", pid, fd));
        if (!target.empty()) out[fd] = target;
    }
    return out;
}

// Descriptor numbers in `ls -l /proc/X/fd` output ("lrwx... 0 -> /dev/null").
std::vector<int> listed_fds(const std::string& ls_output) {
    std::vector<int> fds;
    std::istringstream in(ls_output);
    for (std::string line; std::getline(in, line);) {
        auto arrow = line.find(" -> ");
        if (arrow == std::string::npos) continue;
        auto start = line.rfind(' ', arrow - 1);
        fds.push_back(std::atoi(line.c_str() + start + 1));
    }
    return fds;
}

Verdict fd_leak_init(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    auto marker = must(open_marker());
    auto c = must(start(*rt, RunRequest{agent_spec({"sleep", "10"})}));
    auto fds = host_fds(c->pid());
    auto r = must(exec_probes(*c, {{"ls_fds", {"/bin/ls", "-l", "/proc/1/fd"}}, {"cwd", {"/bin/readlink", "/proc/1/cwd"}}}));
    json host = json::object();
    for (const auto& [fd, target] : fds) host[std::to_string(fd)] = target;
    auto inside = listed_fds(find(r, "ls_fds")->output);
    std::string cwd = find(r, "cwd")->output;
    json evidence{
        {"init_fds_on_host", host}, {"init_fds_inside", inside}, {"init_cwd_inside", cwd}, {"marker_fd", Marker::kFd}};
    if (fds.contains(Marker::kFd) || std::count(inside.begin(), inside.end(), Marker::kFd))
        return Verdict::fail("the case's host directory descriptor leaked into the container's init", evidence);
    if (fds.size() != 3 || !fds.contains(0) || !fds.contains(1) || !fds.contains(2) || inside.size() != 3)
        return Verdict::fail("the container's init holds descriptors other than 0, 1, 2", evidence);
    if (cwd != "/\n") return Verdict::fail("the init's cwd is not the container's / (process.cwd)", evidence);
    return Verdict::pass(evidence);
}

// exec'd processes come from the runtime (or the library, i.e. this process) too.
Verdict fd_leak_exec(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    auto marker = must(open_marker());
    auto c = must(start(*rt, RunRequest{agent_spec({"sleep", "10"})}));
    // The shell lists its own descriptors ($$: the exec'd process itself, not ls).
    auto r =
        exec_probes(*c, {{"ls_fds", {"/bin/sh", "-c", "ls -l /proc/$$/fd"}},
                          {"marker", {"/bin/cat", fmt::format("/proc/self/fd/{}/ctbench-host-marker", Marker::kFd)}}});
    must(r);
    auto inside = listed_fds(find(*r, "ls_fds")->output);
    json evidence{{"exec_fds", inside},
                  {"ls", find(*r, "ls_fds")->output},
                  {"marker_read", find(*r, "marker")->evidence()},
                  {"marker_fd", Marker::kFd}};
    if (std::count(inside.begin(), inside.end(), Marker::kFd) || find(*r, "marker")->ok())
        return Verdict::fail("a host directory descriptor of the caller leaked into an exec'd process", evidence);
    return Verdict::pass(evidence);
}

// The attack itself: process.cwd names the leaked descriptor. A correct runtime either refuses
// to start (the descriptor is not there) or the process finds itself inside the rootfs.
Verdict fd_leak_cwd(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    auto marker = must(open_marker());
    spec::Spec spec = agent_spec({});
    // Control: the same container with an ordinary cwd starts, so a refusal below is the cwd's.
    auto control = run_probes(*rt, spec, {{"pwd", {"/bin/pwd"}}});
    if (!control) setup_failed("control container (cwd /) failed: " + control.error().message());
    spec.process.cwd = fmt::format("/proc/self/fd/{}", Marker::kFd);
    auto r = run_probes(*rt, spec, {{"marker", agent_argv({"cat", "ctbench-host-marker"})}, {"pwd", {"/bin/pwd"}}});
    if (!r) return Verdict::pass({{"cwd", spec.process.cwd}, {"refused", r.error().message()}});
    json evidence{
        {"cwd", spec.process.cwd}, {"marker_read", find(*r, "marker")->evidence()}, {"pwd", find(*r, "pwd")->output}};
    if (find(*r, "marker")->ok())
        return Verdict::fail("process.cwd /proc/self/fd/N put the container process in a host directory", evidence);
    return Verdict::pass(evidence);
}

CTB_CONFORMANCE_CASE({
    .id = "security.exe_overwrite_blocked",
    .reference = "CVE-2019-5736; proc(5) /proc/pid/exe; execve(2) ETXTBSY",
    .needs = {{K::root, ""}},
    .body = exe_overwrite_blocked,
});
CTB_CONFORMANCE_CASE({
    .id = "security.no_fd_leak",
    .reference = "CVE-2024-21626; close_range(2); OCI runtime-spec runtime.md#start (only stdio reaches the process)",
    .needs = {{K::root, ""}},
    .body = fd_leak_init,
});
CTB_CONFORMANCE_CASE({
    .id = "security.no_fd_leak.exec",
    .reference = "CVE-2024-21626 (runc exec variant); close_range(2)",
    .needs = {{K::root, ""}},
    .body = fd_leak_exec,
});
CTB_CONFORMANCE_CASE({
    .id = "security.no_fd_leak.cwd_escape",
    .reference = "CVE-2024-21626 (process.cwd /proc/self/fd/N); OCI runtime-spec config.md#process (cwd)",
    .needs = {{K::root, ""}},
    .body = fd_leak_cwd,
});

}  // namespace
}  // namespace ctb::conformance::sec

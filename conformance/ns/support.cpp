#include "conformance/ns/support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <filesystem>
#include <sstream>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/child.hpp"
#include "common/deadline.hpp"
#include "common/files.hpp"
#include "common/proc.hpp"

namespace ctb::conformance::nscase {
namespace {

constexpr const char* kDefaultNamespaces[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void write_fully(int fd, const std::string& data) {
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

void reap(pid_t pid) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace

std::vector<Requirement> container_needs(std::initializer_list<const char*> extra) {
    std::vector<Requirement> r{{Requirement::Kind::root, ""}};
    for (const char* t : kDefaultNamespaces) r.push_back({Requirement::Kind::namespace_type, t});
    for (const char* t : extra) r.push_back({Requirement::Kind::namespace_type, t});
    return r;
}

std::vector<Requirement> raw_needs(std::initializer_list<const char*> types) {
    std::vector<Requirement> r{{Requirement::Kind::root, ""}};
    for (const char* t : types) r.push_back({Requirement::Kind::namespace_type, t});
    return r;
}

// ---- containers ----------------------------------------------------------------------------

spec::Spec agent(const std::vector<std::string>& args) { return agent_spec(args); }

void add_capabilities(spec::Spec& s, std::initializer_list<const char*> caps) {
    if (!s.process.capabilities) s.process.capabilities.emplace();
    auto& c = *s.process.capabilities;
    for (const char* cap : caps)
        for (auto* set : {&c.bounding, &c.effective, &c.permitted})
            if (std::find(set->begin(), set->end(), cap) == set->end()) set->push_back(cap);
}

void add_namespace(spec::Spec& s, const std::string& type) {
    if (!s.has_namespace(type)) s.linux.namespaces.push_back({type, ""});
}

void remove_namespace(spec::Spec& s, const std::string& type) {
    std::erase_if(s.linux.namespaces, [&](const spec::Namespace& n) { return n.type == type; });
}

Containers::Containers(const CaseContext& ctx)
    : runtime_(must(make_runtime(ctx.runtime), "runtime " + ctx.runtime)), name_(runtime_->name()) {}

Result<RunOutput> Containers::try_run(const spec::Spec& s, const std::vector<std::string>& layers) {
    RunRequest r;
    r.spec = s;
    r.extra_layers = layers;
    return runtime_->run(r);
}

RunOutput Containers::run(const spec::Spec& s, const std::vector<std::string>& layers) {
    return must(try_run(s, layers), fmt::format("run container {}", fmt::join(s.process.args, " ")));
}

Result<Started> Containers::try_start(const spec::Spec& s) {
    RunRequest r;
    r.spec = s;
    return conformance::start(*runtime_, r);
}

Started Containers::start(const spec::Spec& s) {
    return must(try_start(s), fmt::format("start container {}", fmt::join(s.process.args, " ")));
}

json agent_json(const RunOutput& out, const std::string& what) {
    auto docs = json_lines(out.out);
    if (docs.empty())
        setup_failed(fmt::format("{}: no JSON on stdout (status {}, stderr: {})", what, out.status, out.err));
    return docs.back();
}

std::string output_so_far(RunningContainer& c) {
    auto out = c.wait(std::chrono::milliseconds(0));
    return out ? out->out : std::string();
}

bool wait_for_output(RunningContainer& c, const std::string& needle, std::chrono::milliseconds timeout) {
    return retry_until(Deadline(timeout), [&] { return contains(output_so_far(c), needle); });
}

json describe(const RunOutput& out) {
    auto cut = [](const std::string& s) { return s.size() > 2000 ? s.substr(0, 2000) + "..." : s; };
    return {{"status", out.status}, {"stdout", cut(out.out)}, {"stderr", cut(out.err)}};
}

// ---- the host's view -----------------------------------------------------------------------

unsigned long ns_inode_of(pid_t pid, const std::string& name) {
    // The kernel's own identity of a namespace: the inode of its /proc/<pid>/ns link target.
    struct stat st {};
    unsigned long ino = ::stat(fmt::format("/proc/{}/ns/{}", pid, name).c_str(), &st) == 0 ? st.st_ino : 0;
    if (ino == 0) setup_failed(fmt::format("stat /proc/{}/ns/{}: {}", pid, name, errno_name(errno)));
    return ino;
}

unsigned long own_ns_inode(const std::string& name) { return ns_inode_of(::getpid(), name); }

std::optional<std::map<std::string, std::string>> proc_status(pid_t pid) {
    auto text = read_file(fmt::format("/proc/{}/status", pid));
    if (!text) return std::nullopt;
    std::map<std::string, std::string> fields;
    for (const auto& line : lines(*text)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        fields[line.substr(0, colon)] = value;
    }
    return fields;
}

std::vector<pid_t> nspids(pid_t pid) {
    std::vector<pid_t> out;
    auto st = proc_status(pid);
    if (!st || !st->contains("NSpid")) return out;
    for (const auto& w : words(st->at("NSpid"))) out.push_back(static_cast<pid_t>(std::stol(w)));
    return out;
}

std::optional<unsigned long long> start_time(pid_t pid) {
    auto st = read_proc_stat(pid);
    if (!st) return std::nullopt;
    return st->start_time;
}

bool same_process_alive(pid_t pid, unsigned long long started) {
    auto now = start_time(pid);
    return now && *now == started;
}

std::string cmdline(pid_t pid) {
    auto text = read_file(fmt::format("/proc/{}/cmdline", pid));
    if (!text) return {};
    std::string s = *text;
    std::replace(s.begin(), s.end(), '\0', ' ');
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

std::vector<pid_t> all_pids() {
    std::vector<pid_t> out;
    for (const auto& name : list_dir("/proc"))
        if (all_digits(name)) out.push_back(static_cast<pid_t>(std::stol(name)));
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<pid_t> pids_in_pid_ns_of(pid_t member) {
    unsigned long target = ns_inode_of(member, "pid");
    std::vector<pid_t> out;
    for (pid_t p : all_pids()) {
        struct stat st {};
        if (::stat(fmt::format("/proc/{}/ns/pid", p).c_str(), &st) == 0 && st.st_ino == target) out.push_back(p);
    }
    return out;
}

std::vector<std::string> list_dir(const std::string& path) {
    DIR* dir = ::opendir(path.c_str());
    if (!dir) setup_failed("opendir " + path + ": " + errno_name(errno));
    std::vector<std::string> out;
    while (dirent* e = ::readdir(dir)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(dir);
    std::sort(out.begin(), out.end());
    return out;
}

std::string read_text(const std::string& path) { return must(read_file(path), "read"); }

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

std::vector<std::string> words(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// ---- raw kernel experiments ----------------------------------------------------------------

json in_child(const std::function<json()>& body, std::chrono::milliseconds timeout) {
    auto out = run_in_child(
        [&] {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a case that timed out
            return body().dump();
        },
        timeout);
    if (!out) setup_failed(out.error().message());
    auto j = json::parse(*out, nullptr, false);
    if (j.is_discarded()) setup_failed("child returned malformed JSON: " + *out);
    return j;
}

namespace {

// What receive_message() returns when the writer closed before a whole message came.
constexpr std::string_view kEof("\0eof", 4);

// Messages on the gated child's pipes are length-prefixed: a grandchild that inherited a write
// end (a process forked into a namespace) must not keep the parent waiting for EOF.
void send_message(int fd, const std::string& text) {
    std::uint64_t size = text.size();
    write_fully(fd, std::string(reinterpret_cast<const char*>(&size), sizeof size) + text);
}

std::optional<std::string> receive_message(int fd, Deadline deadline) {
    std::string buf;
    char chunk[4096];
    for (;;) {
        if (buf.size() >= sizeof(std::uint64_t)) {
            std::uint64_t size;
            std::memcpy(&size, buf.data(), sizeof size);
            if (buf.size() >= sizeof size + size) return buf.substr(sizeof size, size);
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.remaining());
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) return std::nullopt;  // deadline
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::string(kEof);
        buf.append(chunk, static_cast<std::size_t>(n));
    }
}

}  // namespace

GatedChild::GatedChild(std::function<int()> before, std::function<json()> after) {
    int ready[2], gate[2], result[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) setup_failed("pipe2: " + errno_name(errno));
    UniqueFd ready_r(ready[0]), ready_w(ready[1]);
    if (::pipe2(gate, O_CLOEXEC) != 0) setup_failed("pipe2: " + errno_name(errno));
    UniqueFd gate_r(gate[0]), gate_w(gate[1]);
    if (::pipe2(result, O_CLOEXEC) != 0) setup_failed("pipe2: " + errno_name(errno));
    UniqueFd result_r(result[0]), result_w(result[1]);
    pid_t pid = ::fork();
    if (pid < 0) setup_failed("fork: " + errno_name(errno));
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a case that timed out
        ready_r.reset();
        gate_w.reset();
        result_r.reset();
        std::string out;
        try {
            int err = before();
            send_message(ready_w.get(), std::to_string(err));
            char c;
            ssize_t n;
            while ((n = ::read(gate_r.get(), &c, 1)) < 0 && errno == EINTR) {
            }
            if (err != 0 || n != 1) ::_exit(0);
            out = "ok:" + after().dump();
        } catch (const std::exception& e) {
            out = std::string("exception:") + e.what();
        }
        send_message(result_w.get(), out);
        ::_exit(0);
    }
    pid_ = pid;
    ready_ = std::move(ready_r);
    gate_ = std::move(gate_w);
    result_ = std::move(result_r);
}

GatedChild::~GatedChild() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);  // our own child, by pid
        reap(pid_);
    }
}

int GatedChild::wait_ready(std::chrono::milliseconds timeout) {
    auto text = receive_message(ready_.get(), Deadline(timeout));
    if (!text) setup_failed("gated child: not ready in time");
    if (*text == kEof) setup_failed("gated child died before it was ready");
    return std::stoi(*text);
}

json GatedChild::finish(std::chrono::milliseconds timeout) {
    char go = 'g';
    if (::write(gate_.get(), &go, 1) != 1) setup_failed("gated child: open the gate: " + errno_name(errno));
    gate_.reset();
    auto text = receive_message(result_.get(), Deadline(timeout));
    ::kill(pid_, SIGKILL);
    reap(pid_);
    pid_ = -1;
    if (!text) setup_failed("gated child: no result in time");
    if (text->rfind("ok:", 0) == 0) {
        auto j = json::parse(text->substr(3), nullptr, false);
        if (!j.is_discarded()) return j;
    }
    setup_failed("gated child failed: " + (*text == kEof ? std::string("no result") : *text));
}

int write_errno(const std::string& path, const std::string& content) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return errno;
    ssize_t n = ::write(fd.get(), content.data(), content.size());
    if (n < 0) return errno;
    return static_cast<std::size_t>(n) == content.size() ? 0 : EIO;
}

UniqueFd open_ns(pid_t pid, const std::string& name) {
    std::string path = fmt::format("/proc/{}/ns/{}", pid, name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) setup_failed("open " + path + ": " + errno_name(errno));
    return fd;
}

std::string short_token() { return std::to_string(::getpid() % 1000000); }

}  // namespace ctb::conformance::nscase

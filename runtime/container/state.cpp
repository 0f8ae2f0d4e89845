#include "runtime/container/state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <algorithm>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "common/json_text.hpp"
#include "common/proc.hpp"
#include "runtime/ownership.hpp"

namespace ctb::container {
namespace {

Result<ContainerStatus> status_from_string(const std::string& s) {
    for (auto st : {ContainerStatus::creating, ContainerStatus::created, ContainerStatus::running,
                    ContainerStatus::paused, ContainerStatus::stopped})
        if (to_string(st) == s) return st;
    return fail(plain_error("read state", "status", "unknown status \"" + s + "\""));
}

}  // namespace

std::string to_string(ContainerStatus s) {
    switch (s) {
        case ContainerStatus::creating: return "creating";
        case ContainerStatus::created: return "created";
        case ContainerStatus::running: return "running";
        case ContainerStatus::paused: return "paused";
        case ContainerStatus::stopped: break;
    }
    return "stopped";
}

std::string state_dir(const std::string& root, const std::string& id) { return root + "/" + id; }

// By hand: std::regex costs more to build than the rest of a `delete` (every CLI call checks).
static bool valid_id(const std::string& id) {
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    if (id.empty() || id.size() > 64 || !alnum(id.front())) return false;
    return std::all_of(id.begin() + 1, id.end(), [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

Status validate_id(const std::string& id) {
    if (!valid_id(id))
        return fail(plain_error("container id", "'" + id + "'",
                                "must match [A-Za-z0-9][A-Za-z0-9_.-]* and be at most 64 characters"));
    return {};
}

namespace {

// By hand (common/json_text.hpp): written twice per create, on the start's critical path. The
// members are in the order nlohmann's std::map gave them, so the files read as they always did.
std::string state_document(const State& s) {
    using namespace json_text;
    std::string out;
    out.reserve(1024);
    out += "{\"annotations\":{";
    for (const auto& [key, value] : s.annotations) append_member(out, key, value);
    out += '}';
    append_member(out, "bundle", s.bundle);
    if (s.cgroup_created) {
        append_key(out, "cgroupCreated");
        out += '[';
        for (std::size_t i = 0; i < s.cgroup_created->size(); ++i) {
            if (i > 0) out += ',';
            append_string(out, (*s.cgroup_created)[i]);
        }
        out += ']';
    }
    append_member(out, "cgroupPath", s.cgroup_path);
    append_member(out, "created", s.created);
    if (!s.owner.empty()) append_member(out, kOwnerField, s.owner);
    append_member(out, "id", s.id);
    append_bool(out, "lifecycleHooks", s.has_lifecycle_hooks);
    append_member(out, "ociVersion", s.oci_version);
    append_signed(out, "pid", s.pid);
    append_unsigned(out, "pidStartTime", s.pid_start_time);
    append_member(out, "rootfs", s.rootfs);
    append_member(out, "status", to_string(s.status));
    out += '}';
    return out;
}

}  // namespace

Status save_state(const std::string& root, const State& s) {
    std::string dir = state_dir(root, s.id);
    // Write-then-rename: a reader (or a SIGKILL) never sees half a state file. Each rename frees
    // the old file's block, which on a `discard` mount waits for the device: callers write as
    // few versions as the kill-safety rules allow (Container::create: two).
    if (auto w = write_file(dir + "/state.json.tmp", state_document(s)); !w) return w;
    if (::rename((dir + "/state.json.tmp").c_str(), (dir + "/state.json").c_str()) != 0)
        return fail(sys_error("rename", dir + "/state.json"));
    return {};
}

Status overwrite_state(const std::string& root, const State& s) {
    std::string path = state_dir(root, s.id) + "/state.json";
    std::string text = state_document(s);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) return fail(sys_error("open", path));
    if (text.size() < static_cast<std::size_t>(st.st_size)) text.append(static_cast<std::size_t>(st.st_size) - text.size(), ' ');
    if (text.size() > 4096) return save_state(root, s);  // more than a page: the atomic way
    ssize_t n;
    do n = ::pwrite(fd.get(), text.data(), text.size(), 0);
    while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(text.size())) return fail(sys_error("write", path));
    return {};
}

Result<State> load_state(const std::string& root, const std::string& id) {
    if (auto v = validate_id(id); !v) return fail(v.error());
    Result<std::string> text;
    nlohmann::json j;
    // A read racing overwrite_state can see half of each version: read again (bounded).
    for (int attempt = 0; attempt < 5; ++attempt) {
        text = read_file(state_dir(root, id) + "/state.json");
        if (!text) break;
        j = nlohmann::json::parse(*text, nullptr, false);
        if (!j.is_discarded()) break;
    }
    if (!text) {
        if (text.error().err == ENOENT) return fail(plain_error("container", id, "does not exist"));
        return fail(text.error());
    }
    if (j.is_discarded()) return fail(plain_error("parse", state_dir(root, id) + "/state.json", "malformed JSON"));
    State s;
    s.oci_version = j.value("ociVersion", "1.0.2");
    s.id = j.value("id", id);
    auto st = status_from_string(j.value("status", "stopped"));
    if (!st) return fail(st.error());
    s.status = *st;
    s.pid = j.value("pid", 0);
    s.pid_start_time = j.value("pidStartTime", 0ull);
    s.bundle = j.value("bundle", "");
    s.rootfs = j.value("rootfs", "");
    s.cgroup_path = j.value("cgroupPath", "");
    if (j.contains("cgroupCreated")) s.cgroup_created = j["cgroupCreated"].get<std::vector<std::string>>();
    s.created = j.value("created", "");
    s.annotations = j.value("annotations", std::map<std::string, std::string>{});
    s.has_lifecycle_hooks = j.value("lifecycleHooks", true);
    s.owner = j.value(kOwnerField, "");
    return s;
}

Result<std::vector<std::string>> list_ids(const std::string& root) {
    std::vector<std::string> ids;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root, ec))
        if (e.is_directory()) ids.push_back(e.path().filename());
    if (ec && ec != std::errc::no_such_file_or_directory) return fail(sys_error("list", root, ec.value()));
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::string oci_state_json(const State& s) {
    nlohmann::json j = {{"ociVersion", s.oci_version}, {"id", s.id}, {"status", to_string(s.status)},
                        {"bundle", s.bundle}, {"annotations", s.annotations}};
    if (s.status != ContainerStatus::stopped) j["pid"] = s.pid;
    else j["pid"] = 0;
    j["rootfs"] = s.rootfs;
    j["created"] = s.created;
    return j.dump(2);
}

unsigned long long process_start_time(pid_t pid) {
    auto st = read_proc_stat(pid);
    return st ? st->start_time : 0;
}

bool init_gone(const State& s) {
    auto init = read_proc_stat(s.pid);
    // A zombie init has exited: it is stopped even though /proc still lists it.
    return !init || init->start_time != s.pid_start_time || init->state == 'Z';
}

// `frozen` is asked only about a live init: the freezer files are read for nothing otherwise.
ContainerStatus live_status(const std::string& root, const State& s, const std::function<bool()>& frozen) {
    if (init_gone(s)) return ContainerStatus::stopped;
    if (frozen()) return ContainerStatus::paused;
    struct stat st {};
    if (::stat((state_dir(root, s.id) + "/exec.fifo").c_str(), &st) == 0) return ContainerStatus::created;
    return ContainerStatus::running;
}

}  // namespace ctb::container

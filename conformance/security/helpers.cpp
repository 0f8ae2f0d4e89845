#include "conformance/security/helpers.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fmt/format.h>
#include <sstream>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "runtime/image/image.hpp"

namespace ctb::conformance::sec {
namespace {

std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

Status set_owner_and_mode(const std::string& path, mode_t mode, uid_t uid, gid_t gid) {
    if (::chown(path.c_str(), uid, gid) != 0) return fail(sys_error("chown", path));
    if (::chmod(path.c_str(), mode) != 0) return fail(sys_error("chmod", path));
    return {};
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Each probe's output sits between two marker lines; the end marker carries its exit status,
// so one probe's failure (or silence) never shifts another's result.
std::string batch_script(const std::vector<Probe>& probes) {
    std::string script;
    for (std::size_t i = 0; i < probes.size(); ++i) {
        std::string cmd;
        for (const auto& a : probes[i].argv) cmd += shell_quote(a) + " ";
        // 2>&1 first: if </dev/null cannot be opened, the shell's message lands in the output too.
        script += fmt::format("echo @@ctb-begin-{0}; {1}2>&1 </dev/null; echo @@ctb-end-{0}-$?\n", i, cmd);
    }
    return script;
}

std::vector<ProbeResult> parse_batch(const std::vector<Probe>& probes, const std::string& out) {
    std::vector<ProbeResult> results;
    for (std::size_t i = 0; i < probes.size(); ++i) {
        ProbeResult r;
        r.name = probes[i].name;
        std::string begin = fmt::format("@@ctb-begin-{}\n", i), end = fmt::format("@@ctb-end-{}-", i);
        auto b = out.find(begin);
        auto e = b == std::string::npos ? b : out.find(end, b);
        if (e != std::string::npos) {
            r.output = out.substr(b + begin.size(), e - b - begin.size());
            r.status = std::atoi(out.c_str() + e + end.size());
            r.doc = last_json_line(r.output);
        }
        results.push_back(std::move(r));
    }
    return results;
}

}  // namespace

Status copy_from_image(const std::string& image_path, const std::string& dest, mode_t mode, uid_t uid, gid_t gid) {
    auto image = image::ensure_default_image();
    if (!image) return fail(image.error());
    auto content = read_file(*image + "/" + image_path);
    if (!content) return fail(content.error());
    return write_owned_file(dest, *content, mode, uid, gid);
}

Result<std::string> setuid_agent_layer(const ScratchDir& scratch, const std::string& name) {
    std::string layer = scratch.path() + "/" + name;
    if (auto s = copy_from_image("usr/bin/ctbench-agent", layer + kSetuidAgent, 04755); !s) return fail(s.error());
    return layer;
}

Status write_owned_file(const std::string& dest, const std::string& content, mode_t mode, uid_t uid, gid_t gid) {
    if (auto s = make_dirs(parent_of(dest)); !s) return s;
    // A layer's directories shadow the image's (/etc, /usr/local): 0755 whatever the umask, or a
    // non-root container user could not traverse them.
    for (std::string dir = parent_of(dest); dir.starts_with("/run/ctbench/"); dir = parent_of(dir))
        if (::chmod(dir.c_str(), 0755) != 0) return fail(sys_error("chmod", dir));
    UniqueFd fd(::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return fail(sys_error("create", dest));
    if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
        return fail(sys_error("write", dest));
    fd.reset();
    return set_owner_and_mode(dest, mode, uid, gid);
}

std::string ProbeResult::errno_name() const {
    if (doc.contains("errno_name") && doc["errno_name"].is_string()) return doc["errno_name"];
    return "";
}

nlohmann::json ProbeResult::evidence() const {
    nlohmann::json j{{"status", status}};
    if (!doc.empty())
        j["result"] = doc;
    else
        j["output"] = output.size() > 300 ? output.substr(0, 300) + "..." : output;
    return j;
}

nlohmann::json agent_inside(RunningContainer& c, std::vector<std::string> args) {
    auto out = c.exec(agent_argv(std::move(args)));
    if (!out) return {{"ok", false}, {"exec_error", out.error().message()}};
    nlohmann::json doc = out->json();
    if (!doc.is_object() || doc.empty()) return {{"ok", false}, {"status", out->status}, {"output", out->out + out->err}};
    return doc;
}

Result<std::vector<ProbeResult>> run_probes(Runtime& rt, spec::Spec spec, const std::vector<Probe>& probes,
                                            std::vector<std::string> extra_layers) {
    RunRequest req{std::move(spec)};
    req.timeout = std::chrono::seconds(10);
    req.extra_layers = std::move(extra_layers);
    return run_probes(rt, std::move(req), probes);
}

Result<std::vector<ProbeResult>> run_probes(Runtime& rt, RunRequest req, const std::vector<Probe>& probes) {
    req.spec.process.args = {"/bin/sh", "-c", batch_script(probes)};
    auto out = rt.run(req);
    if (!out) return fail(out.error());
    if (out->status != 0)
        return fail(plain_error("run probes", "/bin/sh", fmt::format("exit {}: {}", out->status, out->err)));
    return parse_batch(probes, out->out);
}

Result<std::vector<ProbeResult>> exec_probes(RunningContainer& container, const std::vector<Probe>& probes) {
    auto out = container.exec({"/bin/sh", "-c", batch_script(probes)});
    if (!out) return fail(out.error());
    if (out->status != 0)
        return fail(plain_error("exec probes", container.id(), fmt::format("exit {}: {}", out->status, out->err)));
    return parse_batch(probes, out->out);
}

const ProbeResult* find(const std::vector<ProbeResult>& results, const std::string& name) {
    auto it = std::find_if(results.begin(), results.end(), [&](const ProbeResult& r) { return r.name == name; });
    return it == results.end() ? nullptr : &*it;
}

std::string could_not_run(const std::vector<ProbeResult>& results) {
    for (const auto& r : results)
        if (!r.ok() && r.doc.empty() && r.output.starts_with("/bin/sh: ") &&
            r.output.find("Permission denied") != std::string::npos)
            return fmt::format(
                "the container's process cannot start programs (can its user traverse the rootfs?): {}: {}", r.name,
                r.output.substr(0, r.output.find('\n')));
    return "";
}

// Names to bits with libcap's own table (cap_from_name(3)), not the runtime's parser under test.
Result<std::uint64_t> capability_mask(const std::vector<std::string>& names) {
    std::uint64_t mask = 0;
    for (const auto& name : names) {
        cap_value_t c = 0;
        if (::cap_from_name(name.c_str(), &c) != 0) return fail(plain_error("cap_from_name", name, "unknown capability"));
        mask |= std::uint64_t{1} << c;
    }
    return mask;
}

std::uint64_t parse_mask(const nlohmann::json& hex) {
    if (!hex.is_string()) return ~std::uint64_t{0};
    const std::string& s = hex.get_ref<const std::string&>();
    char* end = nullptr;
    std::uint64_t v = std::strtoull(s.c_str(), &end, 16);
    return s.empty() || *end != '\0' ? ~std::uint64_t{0} : v;
}

std::string mask_hex(std::uint64_t mask) { return fmt::format("{:016x}", mask); }

void grant_capability(spec::Spec& spec, const std::string& cap) {
    if (!spec.process.capabilities) spec.process.capabilities.emplace();
    auto& c = *spec.process.capabilities;
    for (auto* set : {&c.bounding, &c.effective, &c.permitted})
        if (std::find(set->begin(), set->end(), cap) == set->end()) set->push_back(cap);
}

}  // namespace ctb::conformance::sec

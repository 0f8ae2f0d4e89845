// config.json -> Spec: the top level, process, root and mounts. The linux object is in
// parse_linux.cpp, its resources in parse_resources.cpp.
#include "runtime/spec/parse.hpp"

#include <charconv>
#include <fmt/format.h>
#include <string_view>
#include <set>

#include "common/files.hpp"
#include "runtime/spec/decode.hpp"
#include "runtime/spec/names.hpp"

namespace ctb::spec {

namespace detail {

namespace {

struct Version {
    unsigned major = 0, minor = 0, patch = 0;
    bool prerelease = false;  // "1.0.2-dev"
};

// SemVer "MAJOR.MINOR.PATCH[-pre][+build]", as ociVersion must be.
std::optional<Version> parse_version(std::string_view text) {
    Version v;
    const char* p = text.data();
    const char* end = p + text.size();
    unsigned* parts[] = {&v.major, &v.minor, &v.patch};
    for (std::size_t i = 0; i < 3; ++i) {
        if (i > 0 && (p == end || *p++ != '.')) return std::nullopt;
        auto [next, ec] = std::from_chars(p, end, *parts[i]);
        if (ec != std::errc{} || next == p) return std::nullopt;
        p = next;
    }
    if (p != end && *p != '-' && *p != '+') return std::nullopt;
    v.prerelease = p != end && *p == '-';
    return v;
}

// Configs from 1.0.0 to 1.3.x are compatible with what we model; 1.0.0 release candidates had a
// different shape (capabilities as one list) and 2.x may break anything.
void check_oci_version(const Reader& r, const std::string& text) {
    if (r.failed()) return;
    auto v = parse_version(text);
    if (!v) return r.fail(fmt::format("expected a version like \"1.0.2\", got {}", json(text).dump()));
    bool before_1_0_0 = v->major == 1 && v->minor == 0 && v->patch == 0 && v->prerelease;
    if (v->major != 1 || v->minor > 3 || before_1_0_0)
        r.fail(fmt::format("unsupported version {} (supported: {} .. {})", json(text).dump(),
                           kMinOciVersion, kMaxOciVersion));
}

// setrlimit(2) takes one pair per resource; two entries for one type would silently shadow.
void check_rlimits(const Reader& list, const std::vector<Rlimit>& rlimits) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < rlimits.size() && !list.failed(); ++i)
        if (!seen.insert(rlimits[i].type).second)
            list.element(i).fail_at("type", fmt::format("duplicate rlimit {}", json(rlimits[i].type).dump()));
}

}  // namespace

void decode(const Reader& r, Spec& out) {
    if (!r.expect_object()) return;
    r.require("ociVersion", out.oci_version);
    check_oci_version(r.child("ociVersion"), out.oci_version);
    // Optional for `create` in the spec, but the reference runtime always starts a process.
    r.require("process", out.process);
    r.require("root", out.root);
    r.get("hostname", out.hostname);
    r.get("domainname", out.domainname);
    r.get("mounts", out.mounts);
    r.get("linux", out.linux);
    r.get("hooks", out.hooks);
    r.get("annotations", out.annotations);
}

void decode(const Reader& r, Hooks& out) {
    if (!r.expect_object()) return;
    r.get("prestart", out.prestart);
    r.get("createRuntime", out.create_runtime);
    r.get("createContainer", out.create_container);
    r.get("startContainer", out.start_container);
    r.get("poststart", out.poststart);
    r.get("poststop", out.poststop);
}

void decode(const Reader& r, Hook& out) {
    if (!r.expect_object()) return;
    r.require("path", out.path);
    r.check_absolute("path", out.path);
    r.get("args", out.args);
    r.get("env", out.env);
    r.get("timeout", out.timeout);
    if (!r.failed() && out.timeout && *out.timeout <= 0) r.fail_at("timeout", "must be greater than zero");
}

void decode(const Reader& r, Process& out) {
    if (!r.expect_object()) return;
    r.get("terminal", out.terminal);
    r.get("consoleSize", out.console_size);
    r.get("user", out.user);
    r.require("args", out.args);
    if (r.has("args") && out.args.empty()) r.fail_at("args", "must not be empty");
    r.get("env", out.env);
    r.require("cwd", out.cwd);
    r.check_absolute("cwd", out.cwd);
    r.get("capabilities", out.capabilities);
    r.get("rlimits", out.rlimits);
    check_rlimits(r.child("rlimits"), out.rlimits);
    r.get("noNewPrivileges", out.no_new_privileges);
    r.get_in("oomScoreAdj", out.oom_score_adj, -1000, 1000);  // proc(5) /proc/pid/oom_score_adj
    r.get("apparmorProfile", out.apparmor_profile);
    r.get("selinuxLabel", out.selinux_label);
}

void decode(const Reader& r, ConsoleSize& out) {
    if (!r.expect_object()) return;
    // struct winsize holds unsigned shorts: a larger size would be silently cut.
    r.require_in("height", out.height, 0, 65535);
    r.require_in("width", out.width, 0, 65535);
}

void decode(const Reader& r, User& out) {
    if (!r.expect_object()) return;
    r.require("uid", out.uid);
    r.require("gid", out.gid);
    r.get_in("umask", out.umask, 0, 0777);
    r.get("additionalGids", out.additional_gids);
}

void decode(const Reader& r, Capabilities& out) {
    if (!r.expect_object()) return;
    // 41 names would drown the message; capabilities(7) has the list.
    constexpr bool list_valid = false;
    r.get_enums("bounding", out.bounding, kCapabilities, "capability", list_valid);
    r.get_enums("effective", out.effective, kCapabilities, "capability", list_valid);
    r.get_enums("inheritable", out.inheritable, kCapabilities, "capability", list_valid);
    r.get_enums("permitted", out.permitted, kCapabilities, "capability", list_valid);
    r.get_enums("ambient", out.ambient, kCapabilities, "capability", list_valid);
}

void decode(const Reader& r, Rlimit& out) {
    if (!r.expect_object()) return;
    r.require_enum("type", out.type, kRlimits, "rlimit");
    r.require("hard", out.hard);
    r.require("soft", out.soft);
    // setrlimit(2) would fail with EINVAL; say which numbers are wrong instead.
    if (!r.failed() && out.soft > out.hard)
        r.fail_at("soft", fmt::format("soft limit {} exceeds hard limit {}", out.soft, out.hard));
}

void decode(const Reader& r, Root& out) {
    if (!r.expect_object()) return;
    r.require("path", out.path);
    if (r.has("path") && out.path.empty()) r.fail_at("path", "must not be empty");
    r.get("readonly", out.readonly);
}

void decode(const Reader& r, Mount& out) {
    if (!r.expect_object()) return;
    r.require("destination", out.destination);
    // Spec 1.1 tolerates relative destinations (runc resolves them against "/" with a warning);
    // we reject them so that a bundle means the same thing to every runtime under test.
    r.check_absolute("destination", out.destination);
    r.get("type", out.type);
    r.get("source", out.source);
    r.get("options", out.options);
    r.get("uidMappings", out.uid_mappings);
    r.get("gidMappings", out.gid_mappings);
    // config.md: "If specified, it MUST be specified along with gidMappings" (and vice versa).
    if (out.uid_mappings.empty() != out.gid_mappings.empty())
        r.fail_at(out.uid_mappings.empty() ? "uidMappings" : "gidMappings",
                  "required (non-empty) when the mount's other id mapping is given");
}

}  // namespace detail

namespace {

// No config.json nests anywhere near this deep (the deepest field, a seccomp argument, is at
// level 7). The limit is checked on the text, before parsing: a document nested 100,000 levels
// deep would otherwise exhaust the stack in the recursive code that destroys or walks it.
constexpr std::size_t kMaxNesting = 64;

// Deepest [ / { nesting outside strings, and the line where the limit is first passed (0: never).
std::pair<std::size_t, std::size_t> nesting_beyond(std::string_view text, std::size_t limit) {
    std::size_t depth = 0, line = 1;
    bool in_string = false, escaped = false;
    for (char ch : text) {
        if (ch == '\n') ++line;
        if (in_string) {
            if (escaped) escaped = false;
            else if (ch == '\\') escaped = true;
            else if (ch == '"') in_string = false;
            continue;
        }
        if (ch == '"') in_string = true;
        else if (ch == '[' || ch == '{') {
            if (++depth > limit) return {depth, line};
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            --depth;
        }
    }
    return {0, 0};
}

// A whole JSON document read from `path`; a syntax error names the file, line and column.
Result<nlohmann::json> parse_json_text(const std::string& text, const std::string& path, const std::string& step) {
    if (auto [depth, line] = nesting_beyond(text, kMaxNesting); depth > 0)
        return fail(plain_error(step, path, fmt::format("arrays and objects nested deeper than {} levels "
                                                        "(line {}); no OCI document nests like that",
                                                        kMaxNesting, line)));
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        // what() is "[json.exception.parse_error.101] parse error at line 3, column 7: ...".
        std::string what = e.what();
        if (auto pos = what.find("] "); what.starts_with("[json.exception") && pos != std::string::npos)
            what.erase(0, pos + 2);
        return fail(plain_error(step, path, what));
    }
}

Result<nlohmann::json> read_json(const std::string& path, const std::string& step) {
    auto text = read_file(path);
    if (!text) return fail(text.error());
    return parse_json_text(*text, path, step);
}

template <class T>
Result<T> parse_as(const nlohmann::json& value, const std::string& step) {
    std::optional<Error> error;
    T out;
    decode(detail::Reader(value, "", error), out);
    if (!error) return out;
    error->step = step;
    return fail(std::move(*error));
}

constexpr const char* kProcessStep = "parse process.json";

}  // namespace

Result<Spec> parse_spec(const nlohmann::json& config) {
    return parse_as<Spec>(config, std::string(detail::kStep));
}

Result<Spec> parse_spec_text(const std::string& text, const std::string& path) {
    auto config = parse_json_text(text, path, std::string(detail::kStep));
    if (!config) return fail(config.error());
    return parse_spec(*config);
}

Result<Spec> load_spec_file(const std::string& path) {
    auto text = read_file(path);
    if (!text) return fail(text.error());
    return parse_spec_text(*text, path);
}

Result<Spec> load_spec(const std::string& bundle_dir) { return load_spec_file(bundle_dir + "/config.json"); }

Result<Process> parse_process(const nlohmann::json& process) { return parse_as<Process>(process, kProcessStep); }

Result<Resources> parse_resources(const nlohmann::json& resources) {
    return parse_as<Resources>(resources, "parse resources.json");
}

Result<Resources> load_resources(const std::string& path) {
    auto resources = read_json(path, "parse resources.json");
    if (!resources) return fail(resources.error());
    return parse_resources(*resources);
}

Result<Process> load_process(const std::string& path) {
    auto process = read_json(path, kProcessStep);
    if (!process) return fail(process.error());
    return parse_process(*process);
}

}  // namespace ctb::spec

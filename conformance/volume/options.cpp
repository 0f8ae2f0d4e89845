// volume.options.*: the options of a spec's mounts are enforced by the kernel, not only listed.
// Each case binds one host directory twice into the same container: at kOpt with the option
// under test and at kCtl without it (the control), and runs the same probe against both. The
// option is proven by the errno the probe gets under kOpt while the control succeeds; the
// container's own /proc/self/mountinfo shows the flag too (recorded as evidence and checked).
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <fmt/format.h>
#include <functional>
#include <sstream>

#include "common/files.hpp"
#include "conformance/security/helpers.hpp"

namespace ctb::conformance::vol {
namespace {

constexpr const char* kOpt = "/mnt/opt";  // bound with the option under test
constexpr const char* kCtl = "/mnt/ctl";  // the same directory without it
constexpr const char* kRef = "mount(2) (MS_NOEXEC, MS_NOSUID, MS_NODEV, MS_RDONLY); OCI runtime-spec config.md#mounts";
constexpr uid_t kUser = 1000;  // a non-root container user for the setuid probe

// The container's mountinfo options (field 6) of the mount at `point`, "" when it is not mounted.
std::string mount_options(const std::string& mountinfo, const std::string& point) {
    std::istringstream in(mountinfo);
    std::string options;
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string id, parent, devno, root, mnt, opts;
        f >> id >> parent >> devno >> root >> mnt >> opts;
        if (mnt == point) options = opts;  // the last one: the mount on top
    }
    return options;
}

bool has_flag(const std::string& options, const std::string& flag) {
    std::istringstream in(options);
    for (std::string o; std::getline(in, o, ',');)
        if (o == flag) return true;
    return false;
}

spec::Spec two_binds(const std::string& host_dir, const std::string& option) {
    spec::Spec s = agent_spec({});
    s.mounts.push_back({kOpt, "bind", host_dir, {"bind", option}});
    s.mounts.push_back({kCtl, "bind", host_dir, {"bind"}});
    return s;
}

struct Outcome {
    const sec::ProbeResult* opt;
    const sec::ProbeResult* ctl;
    std::string opt_flags;
    json evidence;
};

// Runs `argv_for(point)` against both mounts, plus a read of the container's mountinfo.
Outcome probe_both(Runtime& rt, const spec::Spec& s, const std::string& option,
                   const std::function<std::vector<std::string>(const std::string&)>& argv_for,
                   std::vector<sec::ProbeResult>& keep) {
    keep = must(sec::run_probes(rt, s,
                                {{"opt", argv_for(kOpt)},
                                 {"ctl", argv_for(kCtl)},
                                 {"mountinfo", agent_argv({"cat", "/proc/self/mountinfo"})}}),
                "run the probes");
    Outcome o{sec::find(keep, "opt"), sec::find(keep, "ctl"), "", {}};
    std::string mountinfo = sec::find(keep, "mountinfo")->doc.value("content", "");
    o.opt_flags = mount_options(mountinfo, kOpt);
    o.evidence = {{"option", option},
                  {"with_option", o.opt->evidence()},
                  {"control", o.ctl->evidence()},
                  {"mountinfo_options", {{kOpt, o.opt_flags}, {kCtl, mount_options(mountinfo, kCtl)}}}};
    return o;
}

// The control must succeed, or the case proves nothing: that is the case's setup, not the option.
void require_control(const Outcome& o, const std::string& what) {
    require(o.ctl->ok(), "control", kCtl, what + " failed without the option: " + o.ctl->evidence().dump());
}

Verdict noexec(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir dir("noexec");
    must(sec::copy_from_image("usr/bin/ctbench-agent", dir.path() + "/agent", 0755));
    std::vector<sec::ProbeResult> keep;
    auto o = probe_both(*rt, two_binds(dir.path(), "noexec"), "noexec",
                        [](const std::string& at) { return agent_argv({"setuid-exec", at + "/agent", "exit", "0"}); }, keep);
    require_control(o, "execve of " + std::string(kCtl) + "/agent");
    Checks c;
    c.expect(o.opt->errno_name() == "EACCES",
             "execve of a program on a noexec mount did not fail with EACCES: " + o.opt->evidence().dump());
    c.expect(has_flag(o.opt_flags, "noexec"), "mountinfo does not show noexec on " + std::string(kOpt));
    return c.verdict(o.evidence);
}

Verdict nosuid(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir dir("nosuid");
    // A setuid-root copy of the agent: `info` reports the euid the exec gave.
    must(sec::copy_from_image("usr/bin/ctbench-agent", dir.path() + "/suid", 04755));
    spec::Spec s = two_binds(dir.path(), "nosuid");
    s.process.user = {kUser, kUser, std::nullopt, {}};
    s.process.no_new_privileges = false;
    std::vector<sec::ProbeResult> keep;
    auto o = probe_both(*rt, s, "nosuid", [](const std::string& at) { return std::vector<std::string>{at + "/suid", "info"}; },
                        keep);
    if (auto why = sec::could_not_run(keep); !why.empty()) setup_failed(why);
    require_control(o, "the setuid program");
    auto euid = [](const sec::ProbeResult* r) { return r->doc.value("/uid/effective"_json_pointer, json(-1)); };
    o.evidence["euid"] = {{"with_option", euid(o.opt)}, {"control", euid(o.ctl)}};
    require(euid(o.ctl) == 0, "control", kCtl, "the setuid-root program did not run with euid 0 without nosuid");
    Checks c;
    c.expect(euid(o.opt) == kUser, fmt::format("a setuid-root program on a nosuid mount ran with euid {}, not the caller's {}",
                                               euid(o.opt).dump(), kUser));
    c.expect(has_flag(o.opt_flags, "nosuid"), "mountinfo does not show nosuid on " + std::string(kOpt));
    return c.verdict(o.evidence);
}

Verdict nodev(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir dir("nodev");
    // /dev/null's numbers: on the default device allow list, so only nodev can refuse the open.
    std::string node = dir.path() + "/null";
    check_sys(::mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)), "mknod", node);
    check_sys(::chmod(node.c_str(), 0666), "chmod", node);
    std::vector<sec::ProbeResult> keep;
    auto o = probe_both(*rt, two_binds(dir.path(), "nodev"), "nodev",
                        [](const std::string& at) { return agent_argv({"open", at + "/null"}); }, keep);
    require_control(o, "open of the device node");
    Checks c;
    c.expect(o.opt->errno_name() == "EACCES",
             "opening a device node on a nodev mount did not fail with EACCES: " + o.opt->evidence().dump());
    c.expect(has_flag(o.opt_flags, "nodev"), "mountinfo does not show nodev on " + std::string(kOpt));
    return c.verdict(o.evidence);
}

Verdict ro_bind(const CaseContext& ctx) {
    auto rt = runtime_under_test(ctx);
    ScratchDir dir("robind");
    std::vector<sec::ProbeResult> keep;
    auto o = probe_both(*rt, two_binds(dir.path(), "ro"), "ro",
                        [](const std::string& at) { return agent_argv({"write", at + "/probe-" + at.substr(5), "x"}); }, keep);
    require_control(o, "a write");
    Checks c;
    c.expect(o.opt->errno_name() == "EROFS", "a write on a read-only bind mount did not fail with EROFS: " +
                                                 o.opt->evidence().dump());
    c.expect(has_flag(o.opt_flags, "ro"), "mountinfo does not show ro on " + std::string(kOpt));
    struct stat st {};
    c.expect(::stat((dir.path() + "/probe-opt").c_str(), &st) != 0, "the write through the read-only mount reached the host");
    require(::stat((dir.path() + "/probe-ctl").c_str(), &st) == 0, "control", dir.path(),
            "the control's write did not reach the host directory");
    return c.verdict(o.evidence);
}

// tmpfs size=: writing past it gives ENOSPC, while a larger tmpfs takes the same write.
Verdict tmpfs_size(const CaseContext& ctx) {
    constexpr int kLimitKib = 1024, kWriteKib = 2048;
    auto rt = runtime_under_test(ctx);
    spec::Spec s = agent_spec({});
    s.mounts.push_back({kOpt, "tmpfs", "tmpfs", {fmt::format("size={}k", kLimitKib)}});
    s.mounts.push_back({kCtl, "tmpfs", "tmpfs", {fmt::format("size={}k", 4 * kWriteKib)}});
    auto fill = [&](const std::string& at) {
        return std::vector<std::string>{
            "/bin/sh", "-c",
            fmt::format("dd if=/dev/zero of={0}/f bs=64k count={1} 2>&1; echo dd_status=$?; stat -c size=%s {0}/f; "
                        "df -k {0} | tail -1",
                        at, kWriteKib / 64)};
    };
    auto r = must(sec::run_probes(*rt, s, {{"opt", fill(kOpt)}, {"ctl", fill(kCtl)}}), "run the probes");
    const auto *opt = sec::find(r, "opt"), *ctl = sec::find(r, "ctl");
    auto value = [](const std::string& out, const std::string& key) {
        auto at = out.find(key + "=");
        return at == std::string::npos ? -1L : std::atol(out.c_str() + at + key.size() + 1);
    };
    json e = {{"size_kib", kLimitKib}, {"write_kib", kWriteKib},
              {"with_limit", {{"output", opt->output}, {"file_bytes", value(opt->output, "size")}}},
              {"control", {{"output", ctl->output}, {"file_bytes", value(ctl->output, "size")}}}};
    require(value(ctl->output, "dd_status") == 0 && value(ctl->output, "size") == kWriteKib * 1024L, "control", kCtl,
            "a larger tmpfs did not take the write: " + ctl->output);
    Checks c;
    c.expect(value(opt->output, "dd_status") != 0 && opt->output.find("No space left on device") != std::string::npos,
             "writing past a tmpfs size= limit did not fail with ENOSPC");
    c.expect(value(opt->output, "size") <= kLimitKib * 1024L, "the file grew past the tmpfs size= limit");
    return c.verdict(e);
}

std::vector<Requirement> options_needs() { return {{K::root, ""}, {K::namespace_type, "mount"}}; }

CTB_CONFORMANCE_CASE({.id = "volume.options.noexec", .reference = kRef, .needs = options_needs(), .body = noexec});
CTB_CONFORMANCE_CASE({.id = "volume.options.nosuid", .reference = kRef, .needs = options_needs(), .body = nosuid});
CTB_CONFORMANCE_CASE({.id = "volume.options.nodev", .reference = kRef, .needs = options_needs(), .body = nodev});
CTB_CONFORMANCE_CASE({.id = "volume.options.ro_bind", .reference = kRef, .needs = options_needs(), .body = ro_bind});
CTB_CONFORMANCE_CASE({
    .id = "volume.options.tmpfs_size",
    .reference = "tmpfs(5) size=; OCI runtime-spec config.md#mounts",
    .needs = options_needs(),
    .body = tmpfs_size,
});

}  // namespace
}  // namespace ctb::conformance::vol

#include "bpf/probe.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <sstream>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/files.hpp"
#include "bpf/libbpf_log.hpp"

namespace ctb::bpf {
namespace {

constexpr const char* kTracefsHome = "/sys/kernel/tracing";
constexpr const char* kKprobePmuType = "/sys/bus/event_source/devices/kprobe/type";
// ENOTSUPP is kernel-internal (include/linux/errno.h) but leaks to user space from BPF paths,
// e.g. when the arch has no BPF trampoline; glibc has no name for it.
constexpr int kEnotsupp = 524;

// Functions present and traceable on every kernel we expect; the first one the kernel's BTF
// knows is used for kprobe and fentry.
constexpr std::array<const char*, 3> kTargetFunctions = {"do_nanosleep", "hrtimer_nanosleep",
                                                         "vfs_read"};
// Tracepoints for the perf-event attach, most common first (syscalls/ needs FTRACE_SYSCALLS).
constexpr std::array<const char*, 2> kTracepoints = {"sched/sched_switch",
                                                     "syscalls/sys_enter_getpid"};

// ---- small helpers ----------------------------------------------------------------------------

// Error::message(), but with a name for the kernel-internal ENOTSUPP instead of "errno 524".
std::string describe(Error e) {
    if (e.err == kEnotsupp) {
        e.err = 0;
        std::string name = "ENOTSUPP (kernel-internal errno 524: not supported)";
        e.detail = e.detail.empty() ? name : name + "; " + e.detail;
    }
    return e.message();
}

// sysfs/tracefs numbers ("312\n"); nullopt rather than an exception on odd content.
std::optional<__u64> parse_number(const std::string& text) {
    std::string s = trim(text);
    __u64 value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return value;
}

Feature to_feature(const Result<std::string>& r) {
    return r ? Feature::yes(*r) : Feature::no(describe(r.error()));
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(const std::string& s) {
    std::string out;
    auto octal = [](char c) { return c >= '0' && c <= '7'; };
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

// The verifier log interleaves the instruction trace ("0: (b7) r0 = 0") with its verdict;
// the verdict is what explains a refusal.
std::string verifier_reason(const std::string& log) {
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
        line = trim(line);
        bool insn_trace = !line.empty() && std::isdigit(static_cast<unsigned char>(line[0])) &&
                          line.find_first_not_of("0123456789") == line.find(':');
        if (line.empty() || insn_trace || line.starts_with("processed ") ||
            line.starts_with("func#"))
            continue;
        return line;
    }
    return {};
}

// ---- loading ----------------------------------------------------------------------------------

struct LoadSpec {
    bpf_prog_type type;
    const char* name;  // <= 15 chars, "ctb" prefix: recognisable in `bpftool prog` if ever leaked
    bpf_attach_type expected_attach_type = static_cast<bpf_attach_type>(0);
    __u32 attach_btf_id = 0;
};

// Pre-5.0 kernels refuse kprobe programs whose kern_version differs from the running kernel's.
__u32 running_kernel_version() {
    utsname u{};
    unsigned a = 0, b = 0, c = 0;
    if (::uname(&u) != 0 || std::sscanf(u.release, "%u.%u.%u", &a, &b, &c) < 2) return 0;
    return (a << 16) + (b << 8) + std::min(c, 255u);
}

// r0 = 0; exit — the smallest program every program type's verifier accepts.
Result<UniqueFd> load_program(const LoadSpec& spec) {
    static const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    std::string log(64 * 1024, '\0');
    bpf_prog_load_opts opts{};
    opts.sz = sizeof opts;
    opts.expected_attach_type = spec.expected_attach_type;
    opts.attach_btf_id = spec.attach_btf_id;
    opts.kern_version = running_kernel_version();
    // log_level 0 with a buffer: libbpf retries with log_level 1 only if the load fails.
    opts.log_buf = log.data();
    opts.log_size = static_cast<__u32>(log.size());
    int fd = bpf_prog_load(spec.type, spec.name, "GPL", insns, std::size(insns), &opts);
    if (fd >= 0) return UniqueFd(fd);
    Error e = sys_error("load", "", errno);
    log.resize(log.find('\0'));
    std::string reason = verifier_reason(log);
    // An empty log means the kernel said no before verifying (capability, LSM, attach target).
    e.detail = reason.empty() ? "refused before the verifier ran (empty verifier log)"
                              : "verifier: " + reason;
    return fail(std::move(e));
}

std::string prog_id(int prog_fd) {
    bpf_prog_info info{};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return "?";
    return std::to_string(info.id);
}

std::string evidence(int prog_fd, const std::string& target) {
    return fmt::format("loaded prog id {}, attached to {}", prog_id(prog_fd), target);
}

// ---- attaching --------------------------------------------------------------------------------

// System-wide on CPU 0, as libbpf does for tracepoint and kprobe perf events.
Result<UniqueFd> open_perf_event(perf_event_attr attr, const std::string& what) {
    attr.size = sizeof attr;
    attr.sample_period = 1;
    attr.wakeup_events = 1;
    int fd = static_cast<int>(::syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) return fail(sys_error("attach: perf_event_open", what));
    return UniqueFd(fd);
}

Status set_bpf(const UniqueFd& event, const UniqueFd& prog, const std::string& what) {
    if (::ioctl(event.get(), PERF_EVENT_IOC_SET_BPF, prog.get()) != 0)
        return fail(sys_error("attach: PERF_EVENT_IOC_SET_BPF", what));
    return {};
}

// BPF_RAW_TRACEPOINT_OPEN: by name for raw_tp, with name NULL for BTF-typed tracing programs.
Result<UniqueFd> raw_tracepoint_open(const char* name, const UniqueFd& prog, const std::string& what) {
    int fd = bpf_raw_tracepoint_open(name, prog.get());
    if (fd < 0) return fail(sys_error("attach", what, -fd));
    return UniqueFd(fd);
}

// ---- vmlinux BTF ------------------------------------------------------------------------------

using BtfPtr = std::unique_ptr<struct btf, decltype(&btf__free)>;

struct VmlinuxBtf {
    BtfPtr btf{nullptr, btf__free};
    std::string path;  // where libbpf found it
};

// libbpf searches several places; its debug line "loading kernel BTF '<path>': 0" says which.
std::string btf_path_from_log(const std::string& log) {
    const std::string marker = "loading kernel BTF '";
    std::size_t at = log.rfind(marker);
    if (at == std::string::npos) return "vmlinux BTF";
    at += marker.size();
    return log.substr(at, log.find('\'', at) - at);
}

Result<VmlinuxBtf> load_vmlinux_btf() {
    LibbpfCapture capture;
    VmlinuxBtf out;
    out.btf.reset(btf__load_vmlinux_btf());
    if (!out.btf) {
        Error e = sys_error("btf__load_vmlinux_btf", "", errno);
        e.detail = trim(capture.text());
        return fail(std::move(e));
    }
    out.path = btf_path_from_log(capture.text());
    return out;
}

Result<__u32> btf_id(const Result<VmlinuxBtf>& vmlinux, const char* name, __u32 kind) {
    if (!vmlinux) return fail(plain_error("no vmlinux BTF", "", vmlinux.error().message()));
    int id = btf__find_by_name_kind(vmlinux->btf.get(), name, kind);
    if (id < 0) return fail(sys_error("find BTF type", name, -id));
    return static_cast<__u32>(id);
}

const char* target_function(const Result<VmlinuxBtf>& vmlinux) {
    if (!vmlinux) return kTargetFunctions[0];
    for (const char* fn : kTargetFunctions)
        if (btf__find_by_name_kind(vmlinux->btf.get(), fn, BTF_KIND_FUNC) > 0) return fn;
    return kTargetFunctions[0];
}

// ---- one check per program type ---------------------------------------------------------------

Result<std::string> try_tracepoint(const std::optional<std::string>& tracefs) {
    if (!tracefs) return fail(plain_error("tracepoint id", "", "tracefs is not mounted"));
    Error first_error;
    for (const char* tp : kTracepoints) {
        auto id = read_file(fmt::format("{}/events/{}/id", *tracefs, tp));
        if (!id) {
            if (first_error.step.empty()) first_error = id.error();
            continue;
        }
        auto prog = load_program({BPF_PROG_TYPE_TRACEPOINT, "ctb_probe_tp"});
        if (!prog) return fail(prog.error());
        auto config = parse_number(*id);
        if (!config) return fail(plain_error("tracepoint id", tp, "not a number: " + trim(*id)));
        perf_event_attr attr{};
        attr.type = PERF_TYPE_TRACEPOINT;
        attr.config = *config;
        auto event = open_perf_event(attr, tp);
        if (!event) return fail(event.error());
        if (auto ok = set_bpf(*event, *prog, tp); !ok) return fail(ok.error());
        return evidence(prog->get(), tp);
    }
    first_error.step = "tracepoint id: " + first_error.step;
    return fail(first_error);
}

Result<std::string> try_raw_tp() {
    auto prog = load_program({BPF_PROG_TYPE_RAW_TRACEPOINT, "ctb_probe_rawtp"});
    if (!prog) return fail(prog.error());
    auto link = raw_tracepoint_open("sched_switch", *prog, "sched_switch");
    if (!link) return fail(link.error());
    return evidence(prog->get(), "raw tracepoint sched_switch");
}

Result<std::string> try_tp_btf(const Result<VmlinuxBtf>& vmlinux) {
    auto id = btf_id(vmlinux, "btf_trace_sched_switch", BTF_KIND_TYPEDEF);
    if (!id) return fail(id.error());
    auto prog = load_program({BPF_PROG_TYPE_TRACING, "ctb_probe_tpbtf", BPF_TRACE_RAW_TP, *id});
    if (!prog) return fail(prog.error());
    auto link = raw_tracepoint_open(nullptr, *prog, "btf_trace_sched_switch");
    if (!link) return fail(link.error());
    return evidence(prog->get(), fmt::format("btf_trace_sched_switch (BTF id {})", *id));
}

Result<std::string> try_kprobe(const Result<VmlinuxBtf>& vmlinux) {
    auto prog = load_program({BPF_PROG_TYPE_KPROBE, "ctb_probe_kp"});
    if (!prog) return fail(prog.error());
    auto pmu = read_file(kKprobePmuType);
    if (!pmu) {
        Error e = sys_error("no kprobe PMU:", kKprobePmuType, pmu.error().err);
        e.detail = "BPF_PROG_TYPE_KPROBE loads, nothing to attach it to";
        return fail(std::move(e));
    }
    auto type = parse_number(*pmu);
    if (!type) return fail(plain_error("kprobe PMU type", kKprobePmuType, "not a number: " + trim(*pmu)));
    const char* fn = target_function(vmlinux);
    perf_event_attr attr{};
    attr.type = static_cast<__u32>(*type);
    attr.config1 = reinterpret_cast<__u64>(fn);  // kprobe_func; config2 (offset) stays 0
    std::string what = fmt::format("kprobe {}", fn);
    auto event = open_perf_event(attr, what);
    if (!event) return fail(event.error());
    if (auto ok = set_bpf(*event, *prog, what); !ok) return fail(ok.error());
    return evidence(prog->get(), what);
}

Result<std::string> try_fentry(const Result<VmlinuxBtf>& vmlinux) {
    const char* fn = target_function(vmlinux);
    auto id = btf_id(vmlinux, fn, BTF_KIND_FUNC);
    if (!id) return fail(id.error());
    auto prog = load_program({BPF_PROG_TYPE_TRACING, "ctb_probe_fent", BPF_TRACE_FENTRY, *id});
    if (!prog) return fail(prog.error());
    std::string what = fmt::format("fentry {}", fn);
    auto link = raw_tracepoint_open(nullptr, *prog, what);
    if (!link) return fail(link.error());
    return evidence(prog->get(), fmt::format("{} (BTF id {})", what, *id));
}

}  // namespace

// ---- public -----------------------------------------------------------------------------------

Feature probe_btf() {
    auto vmlinux = load_vmlinux_btf();
    if (!vmlinux) return Feature::no(describe(vmlinux.error()));
    // Type ids run 1..n; id 0 is the implicit void.
    return Feature::yes(fmt::format("{}: {} types", vmlinux->path, btf__type_cnt(vmlinux->btf.get()) - 1));
}

std::optional<std::string> tracefs_path() {
    auto mountinfo = read_file("/proc/self/mountinfo");
    if (!mountinfo) return std::nullopt;
    std::optional<std::string> found;
    std::istringstream lines(*mountinfo);
    for (std::string line; std::getline(lines, line);) {
        // "<id> <parent> <maj:min> <root> <mount point> <opts> [optional...] - <fstype> ..."
        std::istringstream fields(line);
        std::string field, mount_point;
        for (int i = 0; i < 5 && fields >> field; ++i) mount_point = field;
        while (fields >> field && field != "-") {}
        if (!(fields >> field) || field != "tracefs") continue;
        found = unescape_mountinfo(mount_point);
        if (*found == kTracefsHome) break;  // the standard place wins
    }
    return found;
}

Feature ensure_tracefs() {
    if (auto path = tracefs_path()) return Feature::yes("tracefs mounted at " + *path);
    if (::mount("tracefs", kTracefsHome, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
        return Feature::no(describe(sys_error("mount tracefs on", kTracefsHome)));
    if (auto path = tracefs_path()) return Feature::yes("mounted tracefs at " + *path);
    return Feature::no(fmt::format("mounted tracefs at {} but /proc/self/mountinfo does not list it",
                                   kTracefsHome));
}

std::vector<std::pair<std::string, Feature>> probe_program_types() {
    LibbpfCapture quiet;  // libbpf's warnings become Feature details, not stderr noise
    auto vmlinux = load_vmlinux_btf();
    auto tracefs = tracefs_path();
    // Braced initialisation runs left to right: the fixed order is also the order of the tries.
    return {
        {"tracepoint", to_feature(try_tracepoint(tracefs))},
        {"raw_tp", to_feature(try_raw_tp())},
        {"tp_btf", to_feature(try_tp_btf(vmlinux))},
        {"kprobe", to_feature(try_kprobe(vmlinux))},
        {"fentry", to_feature(try_fentry(vmlinux))},
    };
}

}  // namespace ctb::bpf

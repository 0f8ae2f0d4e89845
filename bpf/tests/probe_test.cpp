// Integration tests for the eBPF host probes. Each verdict is checked against evidence gathered
// independently (mountinfo, sysfs, raw bpf(2)/perf_event_open(2) calls that bypass libbpf), so the
// tests hold on any host without hard-coding this one's answers.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bpf/probe.hpp"
#include "common/deadline.hpp"
#include "common/fd.hpp"

namespace {

using ctb::Feature;
using ctb::UniqueFd;
namespace fs = std::filesystem;

constexpr const char* kSysfsBtf = "/sys/kernel/btf/vmlinux";
constexpr const char* kKprobePmuType = "/sys/bus/event_source/devices/kprobe/type";

// Mount points of every tracefs instance, straight from mountinfo (no unescaping needed for the
// usual places).
std::vector<std::string> tracefs_mounts() {
    std::ifstream in("/proc/self/mountinfo");
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        if (line.find(" - tracefs ") == std::string::npos) continue;
        std::istringstream fields(line);
        std::string f;
        for (int i = 0; i < 5; ++i) fields >> f;
        out.push_back(f);
    }
    return out;
}

int count_fds() {
    int n = 0;
    for ([[maybe_unused]] auto& entry : fs::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

Feature find(const std::vector<std::pair<std::string, Feature>>& results, const std::string& name) {
    for (const auto& [n, f] : results)
        if (n == name) return f;
    ADD_FAILURE() << "no result named " << name;
    return {};
}

// ---- an independent load-and-attach path: raw syscalls, no libbpf ------------------------------

int sys_bpf(int cmd, bpf_attr& attr) { return static_cast<int>(::syscall(__NR_bpf, cmd, &attr, sizeof attr)); }

UniqueFd raw_load(bpf_prog_type type) {
    static const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    static const char license[] = "GPL";
    bpf_attr attr{};
    attr.prog_type = type;
    attr.insns = reinterpret_cast<__u64>(insns);
    attr.insn_cnt = 2;
    attr.license = reinterpret_cast<__u64>(license);
    return UniqueFd(sys_bpf(BPF_PROG_LOAD, attr));
}

bool raw_tracepoint_attach_works() {
    auto tracefs = tracefs_mounts();
    if (tracefs.empty()) return false;
    std::ifstream id_file(tracefs.front() + "/events/sched/sched_switch/id");
    unsigned long long id = 0;
    if (!(id_file >> id)) return false;
    UniqueFd prog = raw_load(BPF_PROG_TYPE_TRACEPOINT);
    if (!prog) return false;
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.config = id;
    attr.sample_period = 1;
    UniqueFd event(static_cast<int>(::syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC)));
    return event && ::ioctl(event.get(), PERF_EVENT_IOC_SET_BPF, prog.get()) == 0;
}

bool raw_raw_tp_attach_works() {
    UniqueFd prog = raw_load(BPF_PROG_TYPE_RAW_TRACEPOINT);
    if (!prog) return false;
    static const char name[] = "sched_switch";
    bpf_attr attr{};
    attr.raw_tracepoint.name = reinterpret_cast<__u64>(name);
    attr.raw_tracepoint.prog_fd = static_cast<__u32>(prog.get());
    UniqueFd link(sys_bpf(BPF_RAW_TRACEPOINT_OPEN, attr));
    return static_cast<bool>(link);
}

// Programs the probes loaded ("ctb_probe_*") that the kernel still holds.
std::vector<std::string> leftover_probe_programs() {
    std::vector<std::string> out;
    for (__u32 id = 0; bpf_prog_get_next_id(id, &id) == 0;) {
        UniqueFd fd(bpf_prog_get_fd_by_id(id));
        if (!fd) continue;  // freed between the two calls
        bpf_prog_info info{};
        __u32 len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 &&
            std::strncmp(info.name, "ctb_probe", 9) == 0)
            out.push_back(std::to_string(id) + " " + info.name);
    }
    return out;
}

// The probes run once for the suite (they load and attach five programs); tests read the result.
class ProgramTypes : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        tracefs_ = ctb::bpf::ensure_tracefs();
        results_ = ctb::bpf::probe_program_types();
        for (const auto& [name, f] : results_)
            std::printf("  %-10s %s: %s\n", name.c_str(), f.available ? "yes" : "no ", f.detail.c_str());
    }
    void SetUp() override { ASSERT_TRUE(tracefs_.available) << tracefs_.detail; }
    static inline Feature tracefs_;
    static inline std::vector<std::pair<std::string, Feature>> results_;
};

}  // namespace

TEST(ProbeBtf, AvailableWhenSysfsVmlinuxExists) {
    Feature btf = ctb::bpf::probe_btf();
    std::printf("  btf: %s\n", btf.detail.c_str());
    ASSERT_FALSE(btf.detail.empty());
    if (!fs::exists(kSysfsBtf)) {
        // libbpf may still find BTF in a vmlinux image under /boot or /lib/modules: then the
        // detail must name that file.
        if (btf.available) {
            EXPECT_TRUE(fs::exists(btf.detail.substr(0, btf.detail.find(':')))) << btf.detail;
        }
        return;
    }
    ASSERT_TRUE(btf.available) << btf.detail;
    // The type count must be the one an independent parse of the same file gives.
    struct btf* parsed = btf__parse(kSysfsBtf, nullptr);
    ASSERT_NE(parsed, nullptr);
    std::string expected = std::string(kSysfsBtf) + ": " + std::to_string(btf__type_cnt(parsed) - 1) + " types";
    btf__free(parsed);
    EXPECT_EQ(btf.detail, expected);
}

TEST(Tracefs, EnsureLeavesTracefsMountedAndIsIdempotent) {
    Feature first = ctb::bpf::ensure_tracefs();
    ASSERT_TRUE(first.available) << first.detail;
    auto mounts = tracefs_mounts();
    ASSERT_FALSE(mounts.empty()) << "ensure_tracefs said yes but mountinfo has no tracefs";

    auto path = ctb::bpf::tracefs_path();
    ASSERT_TRUE(path.has_value());
    EXPECT_NE(std::find(mounts.begin(), mounts.end(), *path), mounts.end()) << *path;
    EXPECT_NE(first.detail.find(*path), std::string::npos) << first.detail;
    EXPECT_TRUE(fs::exists(*path + "/events")) << "not a tracefs: " << *path;

    // Already mounted now: a second call must not stack another mount.
    Feature second = ctb::bpf::ensure_tracefs();
    EXPECT_TRUE(second.available);
    EXPECT_EQ(second.detail, "tracefs mounted at " + *path);
    EXPECT_EQ(tracefs_mounts().size(), mounts.size());
}

TEST_F(ProgramTypes, FixedOrderAndEvidenceOrReason) {
    std::vector<std::string> names;
    for (const auto& [name, f] : results_) {
        names.push_back(name);
        ASSERT_FALSE(f.detail.empty()) << name;
        if (f.available)
            EXPECT_TRUE(f.detail.starts_with("loaded prog id ")) << name << ": " << f.detail;
        else
            EXPECT_FALSE(f.detail.starts_with("loaded")) << name << ": " << f.detail;
    }
    EXPECT_EQ(names, (std::vector<std::string>{"tracepoint", "raw_tp", "tp_btf", "kprobe", "fentry"}));
}

TEST_F(ProgramTypes, TracepointAgreesWithRawSyscalls) {
    Feature tp = find(results_, "tracepoint");
    EXPECT_EQ(tp.available, raw_tracepoint_attach_works()) << tp.detail;
}

TEST_F(ProgramTypes, RawTpAgreesWithRawSyscalls) {
    Feature raw_tp = find(results_, "raw_tp");
    EXPECT_EQ(raw_tp.available, raw_raw_tp_attach_works()) << raw_tp.detail;
}

TEST_F(ProgramTypes, KprobeNeedsThePmu) {
    Feature kprobe = find(results_, "kprobe");
    if (kprobe.available) {
        EXPECT_TRUE(fs::exists(kKprobePmuType)) << kprobe.detail;
    } else if (!fs::exists(kKprobePmuType)) {
        EXPECT_NE(kprobe.detail.find(kKprobePmuType), std::string::npos) << kprobe.detail;
    }
}

TEST_F(ProgramTypes, BtfTypesNeedBtf) {
    Feature btf = ctb::bpf::probe_btf();
    Feature tp_btf = find(results_, "tp_btf");
    Feature fentry = find(results_, "fentry");
    if (!btf.available) {
        EXPECT_FALSE(tp_btf.available) << tp_btf.detail;
        EXPECT_FALSE(fentry.available) << fentry.detail;
    }
    if (tp_btf.available) {
        struct btf* vmlinux = btf__load_vmlinux_btf();
        ASSERT_NE(vmlinux, nullptr);
        int id = btf__find_by_name_kind(vmlinux, "btf_trace_sched_switch", BTF_KIND_TYPEDEF);
        btf__free(vmlinux);
        ASSERT_GT(id, 0);
        EXPECT_NE(tp_btf.detail.find("BTF id " + std::to_string(id)), std::string::npos) << tp_btf.detail;
    }
}

TEST_F(ProgramTypes, LeavesNoFdsAndNoProgramsBehind) {
    // SetUpTestSuite already ran the probes, so any fd libbpf caches for good is open by now.
    int before = count_fds();
    auto again = ctb::bpf::probe_program_types();
    EXPECT_EQ(count_fds(), before);
    // Programs are freed after an RCU grace period: wait, bounded.
    bool gone = ctb::retry_until(ctb::Deadline(std::chrono::seconds(5)),
                                 [] { return leftover_probe_programs().empty(); });
    EXPECT_TRUE(gone) << "still loaded: " << ::testing::PrintToString(leftover_probe_programs());
}

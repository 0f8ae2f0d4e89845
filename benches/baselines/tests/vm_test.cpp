// The VM baseline's probes, tried for real: the initramfs is read back with libarchive, guests
// are booted under TCG and (when /dev/kvm exists) KVM. Nothing here hard-codes this host's
// KVM answer; it checks that whatever happened is reported specifically and cleaned up.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <fmt/format.h>

#include "benches/baselines/guest_image.hpp"
#include "benches/baselines/vcpu_snapshot.hpp"
#include "benches/baselines/vm.hpp"
#include "common/files.hpp"
#include "common/subprocess.hpp"

namespace ctb::vm {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/ctbench-vm-test-XXXXXX";
        path = ::mkdtemp(tmpl) ? tmpl : "";
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

struct CpioEntry {
    mode_t type = 0;
    unsigned perm = 0;
    dev_t rdev = 0;
    std::string content;
};

struct Cpio {
    bool gzip = false;
    bool newc = false;
    std::map<std::string, CpioEntry> entries;
};

Cpio read_cpio(const std::string& path) {
    Cpio cpio;
    archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_cpio(a);
    EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 1 << 16), ARCHIVE_OK) << archive_error_string(a);
    archive_entry* entry = nullptr;
    while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
        CpioEntry e{archive_entry_filetype(entry), static_cast<unsigned>(archive_entry_perm(entry)),
                    archive_entry_rdev(entry), {}};
        char buf[1 << 16];
        for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;) e.content.append(buf, n);
        cpio.entries[archive_entry_pathname(entry)] = e;
    }
    cpio.gzip = archive_filter_code(a, 0) == ARCHIVE_FILTER_GZIP;
    cpio.newc = archive_format(a) == ARCHIVE_FORMAT_CPIO_SVR4_NOCRC;
    archive_read_free(a);
    return cpio;
}

std::string probe_state_dir() { return fmt::format("/run/ctbench/vm-probe-{}", ::getpid()); }

// Processes started by this test binary that are still around: children of ours, or anything
// whose command line names our probe state dir.
std::vector<std::string> our_leftover_processes() {
    std::vector<std::string> found;
    std::string mine = std::to_string(::getpid());
    for (const auto& entry : fs::directory_iterator("/proc")) {
        std::string pid = entry.path().filename();
        if (pid.find_first_not_of("0123456789") != std::string::npos || pid == mine) continue;
        auto cmdline = read_file("/proc/" + pid + "/cmdline");
        auto status = read_file("/proc/" + pid + "/status");
        if (!cmdline || !status) continue;  // exited meanwhile
        std::replace(cmdline->begin(), cmdline->end(), '\0', ' ');
        if (cmdline->find(probe_state_dir()) != std::string::npos ||
            status->find("\nPPid:\t" + mine + "\n") != std::string::npos)
            found.push_back(pid + ": " + *cmdline);
    }
    return found;
}

void expect_cleaned_up() {
    EXPECT_FALSE(fs::exists(probe_state_dir())) << probe_state_dir() << " left behind";
    auto leftovers = our_leftover_processes();
    EXPECT_TRUE(leftovers.empty()) << leftovers.front();
}

bool have_guest_prerequisites(std::string& why) {
    if (!find_executable("qemu-system-x86_64")) why = "qemu-system-x86_64 not installed";
    else if (auto k = find_guest_kernel(); !k) why = k.error().message();
    else if (auto s = check_static_executable("/bin/busybox"); !s) why = s.error().message();
    return why.empty();
}

#define REQUIRE_GUEST()                                   \
    do {                                                  \
        std::string why;                                  \
        if (!have_guest_prerequisites(why)) GTEST_SKIP() << why; \
    } while (0)

// ---- guest image ----------------------------------------------------------------------------

TEST(GuestKernel, PrefersNewestCloudKernel) {
    TempDir boot;
    for (const char* name : {"vmlinuz-6.1.0-10-amd64", "vmlinuz-6.1.0-9-cloud-amd64",
                             "vmlinuz-6.1.0-10-cloud-amd64", "config-6.1.0-11-cloud-amd64"})
        ASSERT_TRUE(write_file(boot.path + "/" + name, "x"));
    auto kernel = find_guest_kernel(boot.path);
    ASSERT_TRUE(kernel) << kernel.error().message();
    EXPECT_EQ(*kernel, boot.path + "/vmlinuz-6.1.0-10-cloud-amd64");
}

TEST(GuestKernel, MissingKernelNamesTheFix) {
    TempDir boot;
    auto kernel = find_guest_kernel(boot.path);
    ASSERT_FALSE(kernel);
    EXPECT_NE(kernel.error().message().find("vmlinuz-*"), std::string::npos);
    EXPECT_NE(kernel.error().message().find("linux-image-cloud-amd64"), std::string::npos);
}

TEST(GuestImage, ProbeInitramfsIsNewcCpioWithInitAndBusybox) {
    if (auto s = check_static_executable("/bin/busybox"); !s) GTEST_SKIP() << s.error().message();
    TempDir dir;
    std::string path = dir.path + "/probe.cpio.gz";
    auto written = write_probe_initramfs(path);
    ASSERT_TRUE(written) << written.error().message();

    Cpio cpio = read_cpio(path);
    EXPECT_TRUE(cpio.gzip);
    EXPECT_TRUE(cpio.newc);
    for (const char* d : {"bin", "proc", "sys", "dev"}) {
        ASSERT_TRUE(cpio.entries.contains(d)) << d;
        EXPECT_EQ(cpio.entries[d].type, AE_IFDIR) << d;
    }
    const auto& init = cpio.entries["init"];
    EXPECT_EQ(init.type, AE_IFREG);
    EXPECT_EQ(init.perm, 0755u);
    EXPECT_TRUE(init.content.starts_with("#!/bin/busybox sh\n"));
    EXPECT_NE(init.content.find(guest_ready_marker), std::string::npos);
    EXPECT_NE(init.content.find("poweroff -f"), std::string::npos);
    EXPECT_EQ(cpio.entries["bin/busybox"].content, *read_file("/bin/busybox"));
    const auto& console = cpio.entries["dev/console"];
    EXPECT_EQ(console.type, AE_IFCHR);
    EXPECT_EQ(::major(console.rdev), 5u);
    EXPECT_EQ(::minor(console.rdev), 1u);
}

TEST(GuestImage, CustomInitAndPayloadPlainCpio) {
    if (auto s = check_static_executable("/bin/busybox"); !s) GTEST_SKIP() << s.error().message();
    TempDir dir;
    std::string path = dir.path + "/bench.cpio";
    InitramfsSpec spec{.init_script = "#!/bin/busybox sh\n/bench/run.sh\n",
                       .files = {{"/bench/lib/run.sh", "echo hi\n", 0700}},
                       .gzip = false};
    auto written = write_initramfs(path, spec);
    ASSERT_TRUE(written) << written.error().message();
    Cpio cpio = read_cpio(path);
    EXPECT_FALSE(cpio.gzip);
    EXPECT_EQ(cpio.entries["init"].content, spec.init_script);
    EXPECT_EQ(cpio.entries["bench"].type, AE_IFDIR);
    EXPECT_EQ(cpio.entries["bench/lib"].type, AE_IFDIR);
    EXPECT_EQ(cpio.entries["bench/lib/run.sh"].content, "echo hi\n");
    EXPECT_EQ(cpio.entries["bench/lib/run.sh"].perm, 0700u);
}

TEST(GuestImage, RejectsEscapingPayloadAndDynamicBusybox) {
    TempDir dir;
    InitramfsSpec escaping{.init_script = "#!/bin/busybox sh\n", .files = {{"/../etc/x", "", 0644}}};
    if (check_static_executable("/bin/busybox")) {
        EXPECT_FALSE(write_initramfs(dir.path + "/x.cpio", escaping));
    }
    // /bin/sh is a dynamically linked dash or bash on any Debian host.
    auto dynamic = check_static_executable(fs::canonical("/bin/sh"));
    ASSERT_FALSE(dynamic);
    EXPECT_NE(dynamic.error().message().find("busybox-static"), std::string::npos);
}

// ---- KVM device and boots -------------------------------------------------------------------

TEST(Kvm, DeviceProbeAgreesWithOpen) {
    int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int open_errno = errno;
    if (fd >= 0) ::close(fd);
    KvmDevice kvm = probe_kvm_device();
    std::cout << "KVM device: " << kvm.detail << "\n";
    EXPECT_FALSE(kvm.detail.empty());
    if (fd < 0) {
        EXPECT_FALSE(kvm.present);
        EXPECT_NE(kvm.detail.find(errno_name(open_errno)), std::string::npos) << kvm.detail;
    } else {
        EXPECT_TRUE(kvm.present) << kvm.detail;
        EXPECT_EQ(kvm.api_version, 12);
    }
}

TEST(Kvm, MissingDeviceIsReportedWithErrno) {
    KvmDevice kvm = probe_kvm_device("/dev/ctbench-no-such-kvm");
    EXPECT_FALSE(kvm.present);
    EXPECT_NE(kvm.detail.find("ENOENT"), std::string::npos) << kvm.detail;
}

TEST(Boot, QemuCommandNamesStateDir) {
    BootSpec spec{.accel = Accel::kvm, .kernel = "/k", .initrd = "/run/ctbench/vm-probe-1/i",
                  .state_dir = "/run/ctbench/vm-probe-1"};
    auto argv = qemu_command(spec);
    std::string line;
    for (const auto& a : argv) line += a + " ";
    EXPECT_NE(line.find("-accel kvm -cpu host"), std::string::npos) << line;
    EXPECT_NE(line.find("-pidfile /run/ctbench/vm-probe-1/qemu.pid"), std::string::npos) << line;
    // The monitor a stalled boot is asked through, in the state dir; addresses as in System.map.
    EXPECT_NE(line.find("-monitor unix:/run/ctbench/vm-probe-1/monitor.sock,server=on,wait=off"), std::string::npos)
        << line;
    EXPECT_NE(line.find(" nokaslr"), std::string::npos) << line;
    spec.accel = Accel::tcg;
    argv = qemu_command(spec);
    // Multi-threaded TCG in real time (no -icount), delay-loop calibration skipped.
    EXPECT_NE(std::find(argv.begin(), argv.end(), "tcg,thread=multi"), argv.end());
    EXPECT_EQ(std::find(argv.begin(), argv.end(), "host"), argv.end());
    EXPECT_EQ(std::find(argv.begin(), argv.end(), "-icount"), argv.end());
    line.clear();
    for (const auto& a : argv) line += a + " ";
    EXPECT_NE(line.find(" lpj="), std::string::npos) << line;
    // A command guest's devices and kernel parameters are appended.
    spec.cpus = 2;
    spec.extra_args = {"-device", "virtio-serial-device"};
    spec.extra_append = "ctbench_args=cnVu";
    argv = qemu_command(spec);
    line.clear();
    for (const auto& a : argv) line += a + " ";
    EXPECT_NE(line.find("-smp 2 "), std::string::npos) << line;
    EXPECT_NE(line.find(" ctbench_args=cnVu -pidfile"), std::string::npos) << line;
    EXPECT_NE(line.find("-device virtio-serial-device"), std::string::npos) << line;
}

TEST(Boot, TcgReachesUserspace) {
    REQUIRE_GUEST();
    BootResult boot = boot_probe_guest(Accel::tcg, 60s);
    std::cout << "TCG: " << boot.reached_userspace.detail << "\n";
    EXPECT_EQ(boot.accel, Accel::tcg);
    EXPECT_TRUE(boot.reached_userspace.available)
        << boot.reached_userspace.detail << "\n" << boot.console_tail;
    EXPECT_NE(boot.console_tail.find(guest_ready_marker), std::string::npos) << boot.console_tail;
    EXPECT_TRUE(std::regex_match(boot.guest_release, std::regex(R"(\d+\.\d+\S*)"))) << boot.guest_release;
    EXPECT_NE(boot.console_tail.find("kernel=" + boot.guest_release), std::string::npos);
    EXPECT_GT(boot.seconds, 0);
    expect_cleaned_up();
}

// The failure forms boot_guest promises; anything vaguer is a bug.
const std::regex specific_reason(
    R"(^(KVM (internal error|entry failed|run failed).*\(qemu: ".+")"
    R"(|timed out after \S+ s without reaching userspace)"
    R"(|qemu exited with code \d+: .+|qemu killed by signal \d+: .+))");

TEST(Boot, KvmReachesUserspaceOrSaysWhy) {
    REQUIRE_GUEST();
    if (!probe_kvm_device().present) GTEST_SKIP() << probe_kvm_device().detail;
    BootResult boot = boot_probe_guest(Accel::kvm, 60s);
    std::cout << "KVM: " << (boot.reached_userspace.available ? "reached userspace: " : "failed: ")
              << boot.reached_userspace.detail << fmt::format(" [{:.2f} s]\n", boot.seconds);
    EXPECT_EQ(boot.accel, Accel::kvm);
    if (boot.reached_userspace.available) {
        EXPECT_FALSE(boot.guest_release.empty());
    } else {
        EXPECT_TRUE(std::regex_search(boot.reached_userspace.detail, specific_reason))
            << boot.reached_userspace.detail;
    }
    expect_cleaned_up();
}

TEST(Boot, TimeoutIsReportedAndCleanedUp) {
    REQUIRE_GUEST();
    BootResult boot = boot_probe_guest(Accel::tcg, 200ms);
    ASSERT_FALSE(boot.reached_userspace.available);
    EXPECT_TRUE(boot.reached_userspace.detail.starts_with("timed out after 0.2 s without reaching userspace"))
        << boot.reached_userspace.detail;
    expect_cleaned_up();
}

TEST(Boot, QemuExitIsReportedWithItsLastLine) {
    REQUIRE_GUEST();
    TempDir dir;
    BootResult boot = boot_guest(BootSpec{.accel = Accel::tcg, .kernel = dir.path + "/no-such-kernel",
                                          .initrd = dir.path + "/no-such-initrd", .state_dir = dir.path,
                                          .deadline = 30s});
    ASSERT_FALSE(boot.reached_userspace.available);
    EXPECT_TRUE(boot.reached_userspace.detail.starts_with("qemu exited with code 1: "))
        << boot.reached_userspace.detail;
    EXPECT_NE(boot.reached_userspace.detail.find("no-such-kernel"), std::string::npos)
        << boot.reached_userspace.detail;
    EXPECT_TRUE(our_leftover_processes().empty());
}

// The probe guest under TCG as a command guest, with these boot deadlines.
void boot_probe_image(std::chrono::milliseconds boot_deadline, std::chrono::milliseconds boot_stall, BootResult& boot) {
    auto kernel = find_guest_kernel();
    ASSERT_TRUE(kernel) << kernel.error().message();
    TempDir dir;
    ASSERT_TRUE(write_probe_initramfs(dir.path + "/initramfs.cpio.gz"));
    boot = boot_guest(BootSpec{.accel = Accel::tcg, .kernel = *kernel, .initrd = dir.path + "/initramfs.cpio.gz",
                               .state_dir = dir.path, .deadline = 60s, .boot_marker = guest_ready_marker,
                               .boot_deadline = boot_deadline, .boot_stall = boot_stall});
}

// A boot still short of its marker at boot_stall is stopped and booted again, the last of
// boot_attempts with the whole boot deadline: here every boot cut at 0.2 s "stalls" (no kernel
// reaches userspace that fast), so the first two are stopped and the third boots.
TEST(Boot, StalledBootIsBootedAgainAndSaysSo) {
    REQUIRE_GUEST();
    BootResult boot;
    ASSERT_NO_FATAL_FAILURE(boot_probe_image(60s, 200ms, boot));
    EXPECT_TRUE(boot.reached_userspace.available) << boot.reached_userspace.detail << "\n" << boot.console_tail;
    EXPECT_FALSE(boot.stalled);
    EXPECT_TRUE(boot.retried.starts_with("2 boots stopped: the guest did not reach userspace within the boot deadline of 0.2 s"))
        << boot.retried;
    EXPECT_TRUE(our_leftover_processes().empty());
}

// `info registers -a` as qemu 7.2's monitor prints it (two vCPUs, abridged), and a System.map.
TEST(VcpuSnapshot, ParsesRegistersAndNamesThemWithSystemMap) {
    const std::string answer =
        "QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) info registers -a\r\n\r\n"
        "CPU#0\r\nRAX=0000000000000000 RBX=ffffffff82a0c940\r\n"
        "RIP=ffffffff81c3a4e2 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\r\n\r\n"
        "CPU#1\r\nRAX=0000000000000001\r\n"
        "RIP=ffffffff81163f10 RFL=00000202 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0\r\n(qemu) ";
    auto vcpus = parse_info_registers(answer);
    ASSERT_EQ(vcpus.size(), 2u);
    EXPECT_EQ(vcpus[0].cpu, 0);
    EXPECT_EQ(vcpus[0].rip, 0xffffffff81c3a4e2ull);
    EXPECT_TRUE(vcpus[0].halted);
    EXPECT_EQ(vcpus[1].cpu, 1);
    EXPECT_FALSE(vcpus[1].halted);
    const std::string map =
        "ffffffff81000000 T _stext\nffffffff81163e00 T smp_call_function_many_cond\n"
        "ffffffff81164000 d some_data\nffffffff81c3a4c0 t default_idle\nffffffff81c3a600 T next_fn\n";
    EXPECT_EQ(symbolize(0xffffffff81c3a4e2ull, map), "default_idle+0x22");
    EXPECT_EQ(symbolize(0xffffffff81163f10ull, map), "smp_call_function_many_cond+0x110");
    EXPECT_EQ(symbolize(0x1000, map), "");                     // below every symbol: no name
    EXPECT_EQ(symbolize(0xffffffff91000000ull, map), "");      // far past the last one
    EXPECT_EQ(describe(vcpus, map),
              "CPU#0 halted in default_idle+0x22, CPU#1 in smp_call_function_many_cond+0x110");
    EXPECT_EQ(describe(vcpus, ""), "CPU#0 halted in 0xffffffff81c3a4e2, CPU#1 in 0xffffffff81163f10");
    // Debian's placeholder map names nothing.
    EXPECT_EQ(symbolize(0xffffffff81c3a4e2ull, "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n"), "");
    EXPECT_EQ(system_map_for("/no/such/vmlinuz-1.2.3"), "");
    EXPECT_EQ(system_map_for("/boot/bzImage"), "");
    EXPECT_EQ(vcpu_snapshot("/no/such/monitor.sock", "", 100ms).rfind("no monitor answer: ", 0), 0u);
}

// A guest that stalls at every boot fails with the last boot's reason and how many were stopped
// before it; qemu is gone after each.
TEST(Boot, EveryBootStalledSaysHowManyWereStopped) {
    REQUIRE_GUEST();
    BootResult boot;
    ASSERT_NO_FATAL_FAILURE(boot_probe_image(300ms, 100ms, boot));
    ASSERT_FALSE(boot.reached_userspace.available);
    EXPECT_TRUE(boot.stalled);
    const std::string& why = boot.reached_userspace.detail;
    EXPECT_TRUE(why.starts_with("the guest did not reach userspace within the boot deadline of 0.3 s")) << why;
    EXPECT_NE(why.find("(after 2 boots stopped: the guest did not reach userspace within the boot deadline of 0.1 s"),
              std::string::npos)
        << why;
    // Each stall says where its vCPUs were (qemu's monitor, before qemu was stopped).
    EXPECT_NE(why.find("; vCPUs: CPU#0 "), std::string::npos) << why;
    EXPECT_TRUE(our_leftover_processes().empty());
}

TEST(Boot, BestAccelSaysWhichRan) {
    REQUIRE_GUEST();
    AccelProbe probe = probe_best_accel(60s);
    std::cout << "best: " << to_string(probe.chosen.accel) << " (" << probe.chosen.reached_userspace.detail
              << "); KVM: " << probe.kvm.detail << "\n";
    EXPECT_FALSE(probe.kvm.detail.empty());
    EXPECT_EQ(probe.chosen.accel, probe.kvm.available ? Accel::kvm : Accel::tcg);
    if (!probe.device.present) {
        EXPECT_FALSE(probe.kvm.available);
    }
    EXPECT_TRUE(probe.chosen.reached_userspace.available) << probe.chosen.reached_userspace.detail;
    expect_cleaned_up();
}

}  // namespace
}  // namespace ctb::vm

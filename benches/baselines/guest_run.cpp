#include "benches/baselines/guest_run.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>

#include "common/fd.hpp"
#include "common/files.hpp"

namespace ctb::vm {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kReportChardev = "ctbreport";

// Removes the run's state dir (qemu's pidfile, the report file) on every path.
struct StateDir {
    std::string path;
    explicit StateDir(std::string p) : path(std::move(p)) {}
    StateDir(const StateDir&) = delete;
    StateDir& operator=(const StateDir&) = delete;
    ~StateDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string base64(const std::string& in) {
    static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                     static_cast<unsigned char>(in[i + 2]);
        for (int shift : {18, 12, 6, 0}) out += table[(v >> shift) & 63];
    }
    if (std::size_t left = in.size() - i; left > 0) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (left == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += left == 2 ? table[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// The initramfs formats the Debian cloud kernel unpacks: cpio newc, gzip, zstd, xz.
Status check_initrd(const std::string& path) {
    auto bytes = read_file(path);
    if (!bytes) return fail(plain_error("--initrd", path, bytes.error().message()));
    const std::string& b = *bytes;
    bool known = b.starts_with("070701") || b.starts_with("070702") || b.starts_with("\x1f\x8b") ||
                 b.starts_with("\x28\xb5\x2f\xfd") || b.starts_with("\xfd" "7zXZ");
    if (!known)
        return fail(plain_error("--initrd", path,
                                "not an initramfs: neither a cpio newc archive nor gzip, zstd or xz compressed"));
    return {};
}

Status resolve_kernel(const GuestRunSpec& spec, GuestRun& run) {
    if (spec.kernel.empty()) {
        auto found = find_guest_kernel();
        if (!found) return fail(found.error());
        run.kernel = *found;
    } else {
        run.kernel = spec.kernel;
    }
    auto release = kernel_release_of(run.kernel);
    if (!release) return fail(plain_error("--kernel", run.kernel, release.error().message()));
    run.guest_release = *release;
    return {};
}

Status resolve_initrd(const GuestRunSpec& spec, GuestRun& run) {
    if (!spec.initrd.empty()) {
        if (auto s = check_initrd(spec.initrd); !s) return s;
        run.initrd = spec.initrd;
        return {};
    }
    run.modules_dir = spec.modules_dir.empty() ? "/lib/modules/" + run.guest_release : spec.modules_dir;
    struct stat st {};
    if (::stat(run.modules_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(plain_error("find the guest kernel's modules", run.modules_dir,
                                fmt::format("no such directory: install the modules of {} or pass --modules DIR",
                                            run.guest_release)));
    SuiteImageSpec ispec{.ctbench = spec.ctbench, .runtime = spec.runtime, .agent = spec.agent,
                         .modules_dir = run.modules_dir};
    auto image = build_suite_image(ispec);
    if (!image) return fail(image.error());
    run.initrd = image->path;
    run.image_cache_hit = image->cache_hit;
    return {};
}

void choose_accel(const GuestRunSpec& spec, GuestRun& run) {
    if (spec.accel) {
        run.accel = *spec.accel;
        run.accel_note = run.accel == Accel::kvm ? "KVM (forced)" : std::string(tcg_note) + " (forced)";
        return;
    }
    KvmDevice device = probe_kvm_device();
    if (device.present) {
        // As `ctbench doctor --probe-kvm`: only a guest that reaches userspace proves KVM works.
        BootResult probe = boot_probe_guest(Accel::kvm, 30s);
        if (probe.reached_userspace.available) {
            run.accel = Accel::kvm;
            run.accel_note = "KVM: " + probe.reached_userspace.detail;
            return;
        }
        run.accel_note = fmt::format("{}; KVM unusable: {}", tcg_note, probe.reached_userspace.detail);
    } else {
        run.accel_note = fmt::format("{}; KVM unusable: {}", tcg_note, device.detail);
    }
    run.accel = Accel::tcg;
}

void size_guest(const GuestRunSpec& spec, GuestRun& run) {
    long host_cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    run.cpus = spec.cpus > 0 ? spec.cpus : static_cast<int>(std::clamp(host_cpus, 1L, 4L));
    long host_mib = ::sysconf(_SC_PHYS_PAGES) / 1024 * ::sysconf(_SC_PAGESIZE) / 1024;
    run.memory_mib = spec.memory_mib > 0 ? spec.memory_mib : static_cast<int>(std::clamp(host_mib / 4, 512L, 2048L));
}

Result<std::string> joined_args(const std::vector<std::string>& args) {
    std::string text;
    for (const auto& a : args) {
        if (a.find('\n') != std::string::npos)
            return fail(plain_error("pass arguments to the guest", a, "an argument may not contain a newline"));
        text += a + "\n";
    }
    return text;
}

// The guest's scratch disk: a sparse file in the run's state dir (removed with it). qemu opens it
// with O_DIRECT (cache=none, so the host's page cache is not part of the guest's I/O figures)
// where the state dir's filesystem allows that, else with the host cache (said in the label).
// Returns the -drive cache option, or "" when there is no disk.
Result<std::string> make_scratch_disk(const std::string& dir, long long mib) {
    if (mib <= 0) return std::string();
    std::string path = dir + "/scratch.img";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return fail(sys_error("create guest scratch disk", path));
    if (::ftruncate(fd.get(), static_cast<off_t>(mib) << 20) != 0) return fail(sys_error("size guest scratch disk", path));
    UniqueFd direct(::open(path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC));
    return std::string(direct ? "cache=none" : "cache=writeback");
}

// "...scratch=loop over guest RAM" -> "loop over guest RAM"
std::string scratch_of(const std::string& line) {
    auto at = line.find("scratch=");
    return at == std::string::npos ? "" : trim(line.substr(at + 8));
}

// "... clocksource=tsc scratch=..." -> "tsc"
std::string clocksource_of(const std::string& line) {
    auto at = line.find("clocksource=");
    if (at == std::string::npos) return "";
    std::string rest = line.substr(at + 12);
    return rest.substr(0, rest.find(' '));
}

// "CTBENCH-GUEST-DONE exit=1 kernel=..." -> 1
int exit_of(const std::string& line) {
    auto at = line.find("exit=");
    if (at == std::string::npos) return -1;
    try {
        return std::stoi(line.substr(at + 5));
    } catch (...) {
        return -1;
    }
}

Error guest_error(const GuestRun& run, const std::string& what) {
    return plain_error("run ctbench in the guest", run.kernel,
                       fmt::format("{} (accelerator {}); last console lines:\n{}", what, to_string(run.accel),
                                   run.console_tail));
}

// The control port's host side: a qemu `pipe` chardev over two FIFOs (qemu opens them O_RDWR, so
// neither side blocks on open). Only the host writes: "done" when it no longer needs the network.
Status make_control_fifos(const std::string& dir) {
    for (const char* end : {"in", "out"}) {
        std::string path = fmt::format("{}/control.{}", dir, end);
        if (::mkfifo(path.c_str(), 0600) != 0) return fail(sys_error("mkfifo", path));
    }
    return {};
}

Status release_guest(const std::string& dir) {
    std::string path = dir + "/control.in";
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) return fail(sys_error("open the guest's control port", path));
    constexpr std::string_view done = "done\n";
    if (::write(fd.get(), done.data(), done.size()) != static_cast<ssize_t>(done.size()))
        return fail(sys_error("tell the guest the host is done", path));
    return {};
}

void add_network(const GuestRunSpec& spec, GuestRun& run, const GuestNet& net, const std::string& dir, BootSpec& b) {
    b.extra_args.insert(b.extra_args.end(), {"-chardev", fmt::format("pipe,id=ctbcontrol,path={}/control", dir),
                                             "-device", fmt::format("virtserialport,chardev=ctbcontrol,name={}", control_port_name)});
    auto nic = net.qemu_args();
    b.extra_args.insert(b.extra_args.end(), nic.begin(), nic.end());
    b.extra_append += " " + GuestNet::kernel_param();
    b.pause_marker = guest_net_marker;
    run.network = fmt::format("the guest never said whether its network came up (no {} line on its console)", guest_net_marker);
    GuestNetEndpoint endpoint{kGuestNetGuest, kGuestNetPort, kGuestNetHost, net.bridge(), net.tap(),
                              "virtio-net-device (virtio-mmio), qemu tap backend, vhost off", ""};
    b.at_pause = [&spec, &run, endpoint, dir](const std::string& line) mutable {
        auto said = parse_guest_net_line(line);
        run.network = said.detail;
        if (!said.ready) return;  // the guest goes on with its command without waiting
        endpoint.guest_line = said.detail;
        spec.with_network(endpoint);
        if (auto s = release_guest(dir); !s) run.network += "; " + s.error().message();
    };
}

BootSpec boot_spec(const GuestRunSpec& spec, const GuestRun& run, const std::string& dir, const std::string& args) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    BootSpec b{.accel = run.accel, .kernel = run.kernel, .initrd = run.initrd, .state_dir = dir,
               .deadline = spec.command_deadline, .ready_marker = guest_done_marker,
               .memory_mib = run.memory_mib, .cpus = run.cpus, .boot_marker = guest_booted_marker,
               .boot_deadline = spec.boot_deadline, .boot_stall = spec.boot_stall};
    b.extra_args = {"-device", "virtio-serial-device",
                    "-chardev", fmt::format("file,id={},path={}/report.json", kReportChardev, dir),
                    "-device", fmt::format("virtserialport,chardev={},name={}", kReportChardev, report_port_name)};
    if (!run.scratch_backing.empty())
        b.extra_args.insert(b.extra_args.end(),
                            {"-drive", fmt::format("file={}/scratch.img,if=none,id=ctbscratch,format=raw,{}", dir,
                                                   run.scratch_backing),
                             "-device", "virtio-blk-device,drive=ctbscratch"});
    // A small huge page pool, so the hugetlb limit has pages to refuse and grant.
    b.extra_append = fmt::format("hugepages=8 ctbench_time={} ctbench_args={}", now.count(), base64(args));
    return b;
}

}  // namespace

Result<GuestRun> run_in_guest(const GuestRunSpec& spec) {
    auto started = std::chrono::steady_clock::now();
    GuestRun run;
    auto args = joined_args(spec.ctbench_args);
    if (!args) return fail(args.error());
    if (auto s = resolve_kernel(spec, run); !s) return fail(s.error());
    if (auto s = resolve_initrd(spec, run); !s) return fail(s.error());
    choose_accel(spec, run);
    size_guest(spec, run);
    if (auto s = make_dirs(spec.state_root, 0755); !s) return fail(s.error());
    StateDir dir{fmt::format("{}/vm-run-{}", spec.state_root, ::getpid())};
    std::error_code ec;
    fs::remove_all(dir.path, ec);  // a same-named dir is a dead process's: ours to replace
    if (::mkdir(dir.path.c_str(), 0700) != 0) return fail(sys_error("mkdir", dir.path));

    auto backing = make_scratch_disk(dir.path, spec.scratch_disk_mib);
    if (!backing) return fail(backing.error());
    run.scratch_backing = *backing;
    BootSpec boot_with = boot_spec(spec, run, dir.path, *args);
    // Declared after `dir`: the tap and the bridge go first (qemu is reaped by then, on every path).
    std::optional<GuestNet> net;
    if (spec.with_network) {
        auto made = GuestNet::create(::getpid());
        if (!made) return fail(made.error());
        net.emplace(std::move(*made));
        if (auto s = make_control_fifos(dir.path); !s) return fail(s.error());
        add_network(spec, run, *net, dir.path, boot_with);
    }
    BootResult boot = boot_guest(boot_with);
    if (!boot.retried.empty())
        run.accel_note += "; booted again: " + boot.retried;
    run.console_tail = boot.console_tail;
    run.boot_seconds = boot.boot_seconds;
    run.total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!boot.reached_userspace.available) return fail(guest_error(run, boot.reached_userspace.detail));
    run.guest_exit = exit_of(boot.ready_line);
    run.scratch = scratch_of(boot.ready_line);
    run.clocksource = clocksource_of(boot.ready_line);
    auto report = read_file(dir.path + "/report.json");
    if (!report || trim(*report).empty())
        return fail(guest_error(run, fmt::format("the guest sent no report over virtio-serial port {} (ctbench exited {})",
                                                 report_port_name, run.guest_exit)));
    run.report_json = std::move(*report);
    return run;
}

}  // namespace ctb::vm

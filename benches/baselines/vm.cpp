#include "benches/baselines/vm.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <optional>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "benches/baselines/hang_report.hpp"
#include "benches/baselines/vcpu_snapshot.hpp"
#include "common/deadline.hpp"
#include "common/fd.hpp"
#include "common/files.hpp"
#include "common/subprocess.hpp"

namespace ctb::vm {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using StopWhen = std::function<bool(const std::string& output)>;

constexpr std::size_t max_console = 1 << 20;
constexpr int tail_lines = 20;

// ---- running qemu ---------------------------------------------------------------------------
// Why not ctb::run_process: it stops on a single marker, and qemu does not exit after a fatal
// KVM error: it pauses the guest and waits forever. Waiting for the ready marker alone would
// spend the whole deadline on every host where KVM is broken, so we watch for either.

struct Watched {
    ProcessResult process;
    double seconds = 0;  // start to stop condition, EOF or deadline
    std::string at_deadline;  // what the at_deadline callback said, right before qemu was stopped
};

enum class ReadEnd { eof, stopped, deadline, error };

// Child side: output to the pipe, no stdin, die with the parent so no guest outlives us.
[[noreturn]] void exec_child(const std::vector<char*>& argv, int write_end, pid_t parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::dup2(write_end, STDOUT_FILENO);
    ::dup2(write_end, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
}

// `remaining(out)` is the time left given the output so far (a guest has a boot deadline until
// it prints its boot marker, then the command's).
using Remaining = std::function<Clock::duration(const std::string& output)>;

ReadEnd read_until(int fd, const Remaining& remaining, const StopWhen& stop, std::string& out) {
    char buf[4096];
    for (;;) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(remaining(out));
        if (left.count() <= 0) return ReadEnd::deadline;
        pollfd pfd{fd, POLLIN, 0};
        int ready = ::poll(&pfd, 1, static_cast<int>(std::min<long>(left.count(), 1'000'000'000)));
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) continue;  // re-evaluated: the deadline may be the other one by now
        if (ready < 0) return ReadEnd::error;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ReadEnd::error;
        if (n == 0) return ReadEnd::eof;
        if (out.size() < max_console) out.append(buf, static_cast<std::size_t>(n));
        if (stop(out)) return ReadEnd::stopped;
    }
}

// Reap our child by pid. After EOF it is exiting on its own; give it a moment, then kill.
int reap(pid_t pid, ReadEnd end) {
    if (end != ReadEnd::eof) ::kill(pid, SIGKILL);
    int status = 0;
    if (!retry_until(Deadline(2s), [&] { return ::waitpid(pid, &status, WNOHANG) == pid; })) {
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    }
    return status;
}

// Called when the deadline passes, while qemu still runs (the guest's state can be asked for).
using AtDeadline = std::function<std::string()>;

Result<Watched> run_watched(std::vector<std::string> argv, const Remaining& remaining, const StopWhen& stop,
                            const AtDeadline& at_deadline) {
    auto exe = find_executable(argv.at(0));
    if (!exe) return fail(plain_error("find executable", argv[0], "not found in PATH, /usr/sbin, /sbin"));
    argv[0] = *exe;
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(sys_error("pipe2", argv[0]));
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    pid_t parent = ::getpid();
    auto start = Clock::now();
    pid_t pid = ::fork();
    if (pid < 0) return fail(sys_error("fork", argv[0]));
    if (pid == 0) exec_child(cargv, write_end.get(), parent);
    write_end.reset();

    Watched w;
    ReadEnd end = read_until(read_end.get(), remaining, stop, w.process.output);
    w.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    w.process.timed_out = end == ReadEnd::deadline;
    if (w.process.timed_out && at_deadline) w.at_deadline = at_deadline();
    int status = reap(pid, end);
    if (WIFEXITED(status)) w.process.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) w.process.term_signal = WTERMSIG(status);
    return w;
}

// ---- reading the console --------------------------------------------------------------------

std::string last_line(const std::string& out) {
    auto lines = console_lines(out);
    for (auto it = lines.rbegin(); it != lines.rend(); ++it)
        if (!trim(*it).empty()) return trim(*it);
    return "(no output)";
}

std::string tail(const std::string& out) {
    auto lines = console_lines(out);
    std::size_t first = lines.size() > tail_lines ? lines.size() - tail_lines : 0;
    std::string text;
    for (std::size_t i = first; i < lines.size(); ++i) text += lines[i] + "\n";
    return text;
}

// The marker's whole line: the guest prints the release after the marker, so a partial line
// is not yet success.
std::optional<std::string> ready_line(const std::string& out, const std::string& marker) {
    std::size_t at = out.find(marker);
    if (at == std::string::npos) return std::nullopt;
    std::size_t nl = out.find('\n', at);
    if (nl == std::string::npos) return std::nullopt;
    std::string line = out.substr(at, nl - at);
    std::erase(line, '\r');
    return line;
}

std::string release_of(const std::string& line) {
    std::size_t at = line.find("kernel=");
    return at == std::string::npos ? "" : trim(line.substr(at + 7));
}

// qemu's messages when KVM_RUN fails (qemu then pauses the guest instead of exiting); each is
// followed by a register dump ending in "Code=".
struct KvmFatal {
    const char* text;   // as qemu prints it
    const char* label;  // as we report it
};
constexpr KvmFatal kvm_fatals[] = {{"KVM internal error", "KVM internal error"},
                                   {"KVM: entry failed", "KVM entry failed"},
                                   {"kvm run failed", "KVM run failed"}};

std::optional<std::size_t> kvm_fatal_at(const std::string& out) {
    for (const auto& fatal : kvm_fatals)
        if (auto at = out.find(fatal.text); at != std::string::npos) return at;
    return std::nullopt;
}

bool kvm_dump_complete(const std::string& out) {
    auto at = kvm_fatal_at(out);
    if (!at) return false;
    std::size_t code = out.find("\nCode=", *at);
    return code != std::string::npos && out.find('\n', code + 1) != std::string::npos;
}

// "KVM internal error: emulation failure (qemu: "KVM internal error. Suberror: 1",
// "emulation failure"; guest RIP=ffffffff8dd17850)"
std::optional<std::string> kvm_fatal_reason(const std::string& out) {
    auto lines = console_lines(out);
    std::string quoted, rip, what;
    bool emulation = false;
    for (const auto& line : lines) {
        for (const auto& fatal : kvm_fatals)
            if (quoted.empty() && line.find(fatal.text) != std::string::npos) {
                quoted = fmt::format("\"{}\"", trim(line));
                what = fatal.label;
            }
        if (!quoted.empty() && trim(line) == "emulation failure") emulation = true;
        if (!quoted.empty() && rip.empty() && line.starts_with("RIP="))
            rip = line.substr(0, line.find(' '));
    }
    if (quoted.empty()) return std::nullopt;
    if (emulation) {
        what += ": emulation failure";
        quoted += ", \"emulation failure\"";
    }
    return fmt::format("{} (qemu: {}{})", what, quoted, rip.empty() ? "" : "; guest " + rip);
}

Feature outcome(const BootSpec& spec, const Watched& w) {
    const auto& out = w.process.output;
    if (auto line = ready_line(out, spec.ready_marker))
        return Feature::yes(fmt::format("{} ({:.2f} s under {})", *line, w.seconds, to_string(spec.accel)));
    if (auto why = kvm_fatal_reason(out)) return Feature::no(*why);
    std::string vcpus = w.at_deadline.empty() ? "" : "; vCPUs: " + w.at_deadline;
    if (!spec.boot_marker.empty() && out.find(spec.boot_marker) == std::string::npos && w.process.timed_out)
        return Feature::no(fmt::format("the guest did not reach userspace within the boot deadline of {:g} s; last line: {}{}",
                                       static_cast<double>(spec.boot_deadline.count()) / 1000, last_line(out), vcpus));
    if (!spec.boot_marker.empty() && w.process.timed_out) {
        std::string report = hang_report(out);
        while (!report.empty() && report.back() == '\n') report.pop_back();
        return Feature::no(fmt::format("the guest's command did not finish within {:g} s of reaching userspace; last line: {}{}{}",
                                       static_cast<double>(spec.deadline.count()) / 1000, last_line(out), vcpus,
                                       report.empty() ? "" : "\n" + report));
    }
    if (w.process.timed_out)
        return Feature::no(fmt::format("timed out after {:g} s without reaching userspace; last line: {}{}",
                                       static_cast<double>(spec.deadline.count()) / 1000, last_line(out), vcpus));
    if (w.process.term_signal != 0)
        return Feature::no(
            fmt::format("qemu killed by signal {}: {}", w.process.term_signal, last_line(out)));
    return Feature::no(fmt::format("qemu exited with code {}: {}", w.process.exit_code, last_line(out)));
}

// The host CPU's clock in kHz from /proc/cpuinfo ("cpu MHz : 2596.140"), when it says.
std::optional<long> host_tsc_khz() {
    auto info = read_file("/proc/cpuinfo");
    if (!info) return std::nullopt;
    auto at = info->find("cpu MHz");
    if (at == std::string::npos) return std::nullopt;
    auto colon = info->find(':', at);
    if (colon == std::string::npos) return std::nullopt;
    try {
        double mhz = std::stod(info->substr(colon + 1));
        if (mhz > 100) return static_cast<long>(mhz * 1000);
    } catch (...) {
    }
    return std::nullopt;
}

BootResult not_booted(Accel accel, std::string reason) {
    BootResult r;
    r.accel = accel;
    r.reached_userspace = Feature::no(std::move(reason));
    return r;
}

// ---- the probe's private state dir ----------------------------------------------------------

// Removes the dir on every path out of boot_probe_guest, including a half-made one.
struct ScopedDir {
    std::string path;
    explicit ScopedDir(std::string p) : path(std::move(p)) {}
    ScopedDir(const ScopedDir&) = delete;
    ScopedDir& operator=(const ScopedDir&) = delete;
    ~ScopedDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

// A same-named dir is a leftover of a dead process that had our pid: ours to replace.
Status fresh_state_dir(const std::string& path) {
    if (auto s = make_dirs("/run/ctbench", 0755); !s) return s;
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return fail(sys_error("remove stale state dir", path, ec.value()));
    if (::mkdir(path.c_str(), 0700) != 0) return fail(sys_error("mkdir", path));
    return {};
}

}  // namespace

KvmDevice probe_kvm_device(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) return {false, 0, sys_error("open", path).message()};
    int version = ::ioctl(fd.get(), KVM_GET_API_VERSION, 0);
    if (version < 0) return {false, 0, sys_error("ioctl KVM_GET_API_VERSION", path).message()};
    if (version != KVM_API_VERSION)
        return {false, version,
                fmt::format("{}: KVM API version {}, qemu needs {}", path, version, KVM_API_VERSION)};
    int user_memory = ::ioctl(fd.get(), KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
    int max_vcpus = ::ioctl(fd.get(), KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    return {true, version,
            fmt::format("{}: KVM API version {}, KVM_CAP_USER_MEMORY {}, max vCPUs {}", path, version,
                        user_memory > 0 ? "yes" : "no", max_vcpus)};
}

std::string to_string(Accel accel) { return accel == Accel::kvm ? "kvm" : "tcg"; }

std::vector<std::string> qemu_command(const BootSpec& spec) {
    std::vector<std::string> argv{"qemu-system-x86_64", "-name", "ctbench-guest", "-M", "microvm", "-accel"};
    // nokaslr: a stalled boot's vCPU addresses are then System.map's (vcpu_snapshot.hpp).
    std::string append = "console=ttyS0 rdinit=/init panic=-1 quiet nokaslr";
    if (spec.accel == Accel::kvm) {
        argv.insert(argv.end(), {"kvm", "-cpu", "host"});
    } else {
        // Multi-threaded TCG in real time, one host thread per vCPU. Not -icount: with icount
        // the vCPUs run round-robin and a halted vCPU's timers fire only when the busy one
        // yields (seen here: a 0.5 s sleep took 4 s beside a spinner; CFS bandwidth timers
        // starved a cpu.max cgroup to 0.04 CPU). What icount once fixed, delay-loop
        // calibration hanging under host load, a preset loops_per_jiffy skips instead; it only
        // scales udelay(), which nothing in these guests depends on for correctness.
        argv.insert(argv.end(), {"tcg,thread=multi"});
        append += " lpj=2000000";
        // TCG's TSC is the host's. Measured against the emulated PIT it fails whenever the
        // host is busy (seen here: "Unable to calibrate against PIT", then the clock stands
        // still at 0.000000 and the boot hangs); the host knows the frequency.
        if (auto khz = host_tsc_khz()) append += fmt::format(" tsc_early_khz={}", *khz);
        // microvm has no HPET or ACPI PM timer to check the TSC against, and TCG's CPU model does
        // not advertise an invariant TSC, so the kernel fell back to refined-jiffies: every time
        // a guest bench read was a multiple of 4 ms (seen here: 0 ms samples). The TSC is the
        // host's and monotonic; trust it.
        append += " tsc=reliable clocksource=tsc";
    }
    if (!spec.extra_append.empty()) append += " " + spec.extra_append;
    argv.insert(argv.end(), {"-m", std::to_string(spec.memory_mib), "-smp", std::to_string(std::max(spec.cpus, 1)),
                             // One boot per run: a guest reboot or panic ends qemu.
                             "-no-reboot", "-nodefaults", "-no-user-config", "-display", "none",
                             "-serial", "stdio", "-kernel", spec.kernel, "-initrd", spec.initrd,
                             "-append", append,
                             // The pidfile names the state dir on the command line too.
                             "-pidfile", spec.state_dir + "/qemu.pid"});
    auto monitor = monitor_args(spec.state_dir + "/monitor.sock");
    argv.insert(argv.end(), monitor.begin(), monitor.end());
    argv.insert(argv.end(), spec.extra_args.begin(), spec.extra_args.end());
    return argv;
}

namespace {

BootResult boot_once(const BootSpec& spec) {
    auto start = Clock::now();
    double boot_seconds = 0;
    bool runs_command = !spec.boot_marker.empty();
    bool paused = false;
    auto stop = [&](const std::string& out) {
        if (runs_command && boot_seconds == 0 && out.find(spec.boot_marker) != std::string::npos)
            boot_seconds = std::chrono::duration<double>(Clock::now() - start).count();
        if (spec.at_pause && !paused)
            if (auto line = ready_line(out, spec.pause_marker)) {
                paused = true;
                spec.at_pause(*line);
            }
        // A command guest is done when qemu exits (the guest powers off after its report).
        if (runs_command) return kvm_dump_complete(out);
        return ready_line(out, spec.ready_marker).has_value() || kvm_dump_complete(out);
    };
    // A command guest has boot_deadline to reach userspace, then `deadline` for its command.
    auto remaining = [&](const std::string& out) -> Clock::duration {
        if (!runs_command) return start + spec.deadline - Clock::now();
        if (boot_seconds == 0 && out.find(spec.boot_marker) == std::string::npos)
            return start + spec.boot_deadline - Clock::now();
        auto booted = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(boot_seconds));
        return booted + spec.deadline - Clock::now();
    };
    // At the deadline, short of userspace or with the command still running: where the kernel
    // was, before qemu is stopped.
    auto at_deadline = [&]() -> std::string {
        return vcpu_snapshot(spec.state_dir + "/monitor.sock", system_map_for(spec.kernel), 3s);
    };
    auto run = run_watched(qemu_command(spec), remaining, stop, at_deadline);
    if (!run) return not_booted(spec.accel, run.error().message());
    BootResult result;
    result.accel = spec.accel;
    result.reached_userspace = outcome(spec, *run);
    result.seconds = run->seconds;
    result.console_tail = tail(run->process.output);
    result.boot_seconds = boot_seconds;
    if (auto line = ready_line(run->process.output, spec.ready_marker)) {
        result.guest_release = release_of(*line);
        result.ready_line = *line;
    }
    result.stalled = runs_command && boot_seconds == 0 && run->process.timed_out;
    return result;
}

}  // namespace

BootResult boot_guest(const BootSpec& spec) {
    if (spec.boot_marker.empty() || spec.boot_stall.count() <= 0 || spec.boot_stall >= spec.boot_deadline)
        return boot_once(spec);
    // Every boot but the last is cut at boot_stall; the last has the whole boot_deadline. Two
    // stalled boots in a row were seen here (CI, cli_vm_net_kill), so one retry was not enough.
    BootSpec cut = spec;
    cut.boot_deadline = spec.boot_stall;
    std::vector<std::string> stalls;
    for (int attempt = 1;; ++attempt) {
        bool last = attempt >= std::max(spec.boot_attempts, 1);
        BootResult tried = boot_once(last ? spec : cut);
        // Booted, or failed for a reason another boot keeps (only a silent stall is retried).
        if (last || !tried.stalled) {
            if (!stalls.empty()) {
                tried.retried = fmt::format("{} stopped: {}", stalls.size() == 1 ? "1 boot" : fmt::format("{} boots", stalls.size()),
                                            fmt::join(stalls, "; "));
                if (!tried.reached_userspace.available) tried.reached_userspace.detail += " (after " + tried.retried + ")";
            }
            return tried;
        }
        stalls.push_back(tried.reached_userspace.detail);
    }
}

BootResult boot_probe_guest(Accel accel, std::chrono::milliseconds deadline) {
    auto kernel = find_guest_kernel();
    if (!kernel) return not_booted(accel, kernel.error().message());
    ScopedDir dir{fmt::format("/run/ctbench/vm-probe-{}", ::getpid())};
    if (auto s = fresh_state_dir(dir.path); !s) return not_booted(accel, s.error().message());
    std::string initrd = dir.path + "/initramfs.cpio.gz";
    if (auto s = write_probe_initramfs(initrd); !s) return not_booted(accel, s.error().message());
    return boot_guest(BootSpec{.accel = accel, .kernel = *kernel, .initrd = initrd,
                               .state_dir = dir.path, .deadline = deadline});
}

AccelProbe probe_best_accel(std::chrono::milliseconds deadline_per_boot) {
    AccelProbe probe;
    probe.device = probe_kvm_device();
    if (!probe.device.present) {
        probe.kvm = Feature::no(probe.device.detail);
    } else {
        BootResult kvm = boot_probe_guest(Accel::kvm, deadline_per_boot);
        probe.kvm = kvm.reached_userspace;
        if (kvm.reached_userspace.available) {
            probe.chosen = std::move(kvm);
            return probe;
        }
    }
    probe.chosen = boot_probe_guest(Accel::tcg, deadline_per_boot);
    return probe;
}

}  // namespace ctb::vm

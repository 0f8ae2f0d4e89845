#include "cli/vm_run.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "benches/baselines/guest_run.hpp"
#include "benches/baselines/host_guest.hpp"
#include "benches/harness/spawn.hpp"
#include "cli/cleanup.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/options.hpp"

namespace ctb::cli {
namespace {

namespace fs = std::filesystem;

// ctbench-agent: $CTBENCH_AGENT, beside ctbench, the build tree, the install's libexec dir.
Result<std::string> find_agent() {
    if (const char* env = std::getenv("CTBENCH_AGENT")) return std::string(env);
    std::error_code ec;
    auto self = fs::read_symlink("/proc/self/exe", ec);
    std::vector<std::string> candidates;
    if (!ec) candidates.push_back(self.parent_path() / "ctbench-agent");
#ifdef CTBENCH_BUILD_AGENT_PATH
    candidates.push_back(CTBENCH_BUILD_AGENT_PATH);
#endif
#ifdef CTBENCH_INSTALLED_AGENT_PATH
    candidates.push_back(CTBENCH_INSTALLED_AGENT_PATH);
#endif
    for (const auto& c : candidates)
        if (fs::exists(c, ec)) return c;
    return fail(plain_error("find", "ctbench-agent", "not beside ctbench, in the build tree or the libexec dir"));
}

Status check_selection(const GuestSelection& s) {
    auto suite = parse_suite(s.suite);
    if (!suite) return fail(suite.error());
    for (const auto& [flag, value] : {std::pair{"--filter", s.filter}, std::pair{"--skip", s.skip}})
        if (auto re = parse_regex(flag, value); !re) return fail(re.error());
    auto formats = parse_formats(s.formats.empty() ? std::vector<std::string>{"text"} : s.formats);
    if (!formats) return fail(formats.error());
    return {};
}

std::vector<std::string> guest_args(const GuestSelection& s) {
    std::vector<std::string> args{"run", "--suite", s.suite};
    if (!s.filter.empty()) args.insert(args.end(), {"--filter", s.filter});
    if (!s.skip.empty()) args.insert(args.end(), {"--skip", s.skip});
    if (s.timeout_seconds > 0) args.insert(args.end(), {"--timeout", fmt::format("{:g}", s.timeout_seconds)});
    if (s.repetitions > 0) args.insert(args.end(), {"--repetitions", std::to_string(s.repetitions)});
    if (s.thorough) args.push_back("--thorough");
    args.insert(args.end(), {"--state-fs", s.state_fs});
    return args;
}

Result<vm::GuestRunSpec> guest_spec(const VmOptions& o, const GuestSelection& s) {
    vm::GuestRunSpec spec{.kernel = o.kernel, .initrd = o.initrd, .modules_dir = o.modules};
    std::error_code ec;
    spec.ctbench = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return fail(sys_error("readlink", "/proc/self/exe", ec.value()));
    auto runtime = bench::find_ctbench_runtime();
    if (!runtime) return fail(runtime.error());
    spec.runtime = *runtime;
    auto agent = find_agent();
    if (!agent) return fail(agent.error());
    spec.agent = *agent;
    spec.ctbench_args = guest_args(s);
    spec.boot_deadline = std::chrono::milliseconds(static_cast<long>(o.boot_timeout_seconds * 1000));
    spec.command_deadline = std::chrono::milliseconds(static_cast<long>(o.command_timeout_seconds * 1000));
    spec.cpus = o.cpus;
    spec.memory_mib = o.memory_mib;
    return spec;
}

// The host <-> guest workloads of a run with net_modes: filled in while the guest waits for the
// host (GuestRunSpec::with_network), or, if it never did, every mode not run with the guest's reason.
struct NetWork {
    bench::host_guest::Spec spec;
    std::optional<bench::host_guest::Outcome> outcome;
};

void want_network(vm::GuestRunSpec& spec, const GuestSelection& s, const std::shared_ptr<NetWork>& net) {
    if (s.net_modes.empty()) return;
    net->spec = {spec.agent, s.net_modes, s.repetitions, s.thorough};
    spec.with_network = [net](const vm::GuestNetEndpoint& guest) {
        net->outcome = bench::host_guest::measure(net->spec, guest);
    };
}

bench::host_guest::Outcome network_outcome(const NetWork& net, const vm::GuestRun& g) {
    if (net.outcome) return *net.outcome;
    if (net.spec.modes.empty()) return {};
    return bench::host_guest::not_run(net.spec, "the guest's network did not come up: " + g.network);
}

// The guest's report, every result marked guest-side, the VM that ran it recorded in run.guest.
// The host <-> guest series join the guest's own: they are VM figures, labelled like them.
Result<report::Report> guest_report(const vm::GuestRun& g, bench::host_guest::Outcome net) {
    nlohmann::json j = nlohmann::json::parse(g.report_json, nullptr, false);
    if (j.is_discarded())
        return fail(plain_error("parse the guest's report", "virtio-serial port " + std::string(vm::report_port_name),
                                fmt::format("not JSON ({} bytes)", g.report_json.size())));
    auto r = report::report_from_json(j);
    if (!r) return fail(r.error());
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    report::GuestRunInfo info{vm::to_string(g.accel), g.accel_note, g.kernel, g.initrd, r->run.kernel,
                              "", host, g.cpus, g.memory_mib, g.boot_seconds, g.total_seconds, g.guest_exit};
    struct utsname u {};
    if (::uname(&u) == 0) info.host_kernel = u.release;
    info.scratch = g.scratch.empty() ? "unknown (the guest did not say)" : g.scratch;
    if (g.scratch == "virtio-blk") info.scratch += " (" + g.scratch_backing + ")";
    r->run.guest = info;
    r->run.command_line = command_line();
    for (auto& b : net.results) r->benchmarks.push_back(std::move(b));
    for (auto& b : net.not_run) r->benchmarks_not_run.push_back(std::move(b));
    nlohmann::json side = {{"side", "guest"}, {"accel", info.accel}, {"kernel", info.guest_kernel}};
    for (auto& c : r->conformance) c.evidence["guest"] = side;
    // Every figure says what ran: a TCG figure carries the note that it is no KVM baseline.
    for (auto& b : r->benchmarks) {
        b.context["guest"] = side;
        b.context["guest"]["accel_note"] = info.accel_note;
        b.context["guest"]["scratch"] = info.scratch;
        b.context["guest"]["clocksource"] = g.clocksource;
        if (g.clocksource.find("jiffies") != std::string::npos)
            b.warnings.push_back("the guest's clock is " + g.clocksource +
                                 ": timings are multiples of a scheduler tick, not a baseline");
    }
    return r;
}

int exit_code_of(const report::Report& r) {
    auto s = r.summary();
    bool bench_broke = std::any_of(r.benchmarks_not_run.begin(), r.benchmarks_not_run.end(),
                                   [](const report::BenchSkip& b) { return b.error; });
    if (s.fail > 0 || s.error > 0 || bench_broke) return kExitFailed;
    if (s.pass == 0 && r.benchmarks.empty()) return kExitAllSkipped;
    return kExitOk;
}

}  // namespace

void add_vm_options(CLI::App& cmd, VmOptions& vm) {
    cmd.add_flag("--vm", vm.vm,
                 "Run the selected cases and benches inside a qemu microVM (pure cgroup v2 guest, virtio-blk scratch)");
    cmd.add_option("--kernel", vm.kernel, "Guest kernel (bzImage) for --vm; default the newest /boot/vmlinuz-*cloud*");
    cmd.add_option("--initrd", vm.initrd, "Guest initramfs for --vm instead of the built suite image");
    cmd.add_option("--modules", vm.modules, "The guest kernel's module dir for --vm; default /lib/modules/<release>");
    cmd.add_option("--boot-timeout", vm.boot_timeout_seconds, "--vm: seconds for the guest to reach userspace")
        ->capture_default_str();
    cmd.add_option("--vm-timeout", vm.command_timeout_seconds,
                   "--vm: seconds for the guest's ctbench run, after boot; then the guest is killed")
        ->capture_default_str();
    cmd.add_option("--vm-cpus", vm.cpus, "--vm: guest CPUs (default the host's, at most 4)");
    cmd.add_option("--vm-memory", vm.memory_mib, "--vm: guest memory in MiB (default a quarter of the host's, 512..2048)");
}

Status check_vm_options(const VmOptions& vm) {
    if (vm.boot_timeout_seconds <= 0) return fail(plain_error("--boot-timeout", "", "must be a positive number of seconds"));
    if (vm.command_timeout_seconds <= 0) return fail(plain_error("--vm-timeout", "", "must be a positive number of seconds"));
    if (vm.cpus < 0 || vm.memory_mib < 0) return fail(plain_error("--vm-cpus/--vm-memory", "", "must be positive"));
    return {};
}

Result<report::Report> run_guest(const VmOptions& vm, const GuestSelection& selection, bool caller_holds_lock) {
    if (auto s = check_vm_options(vm); !s) return fail(s.error());
    if (auto s = check_selection(selection); !s) return fail(s.error());
    auto spec = guest_spec(vm, selection);
    if (!spec) return fail(spec.error());
    // A host-side `ctbench run` sweeps qemu guests it finds under /run/ctbench: hold its lock.
    UniqueFd lock;
    if (!caller_holds_lock) {
        auto taken = take_run_lock();
        if (!taken) return fail(taken.error());
        lock = std::move(*taken);
    }
    auto net = std::make_shared<NetWork>();
    want_network(*spec, selection, net);
    auto run = vm::run_in_guest(*spec);
    if (!run) return fail(run.error());
    if (run->accel == vm::Accel::tcg) fmt::print(stderr, "ctbench: warning: {}\n", run->accel_note);
    return guest_report(*run, network_outcome(*net, *run));
}

int run_in_vm(const VmOptions& vm, const GuestSelection& selection) {
    auto r = run_guest(vm, selection);
    if (!r) return usage_error(r.error());
    auto formats = parse_formats(selection.formats.empty() ? std::vector<std::string>{"text"} : selection.formats);
    if (auto s = write_outputs(*r, *formats, selection.output); !s) return usage_error(s.error());
    bool text_shown = selection.output.empty() &&
                      std::find(formats->begin(), formats->end(), report::find_format("text")) != formats->end();
    if (!text_shown) fmt::print(selection.output.empty() ? stderr : stdout, "{}", report::render_text(*r));
    return exit_code_of(*r);
}

}  // namespace ctb::cli

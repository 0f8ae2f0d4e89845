// Block I/O throttling (v1 blkio.throttle.read_bps_device, v2 io.max rbps): direct reads from a
// loop device inside the container run at the configured rate, and much faster without it.
//
// The loop device is the case's own: its backing file is created under
// /run/ctbench/cgroup-loop-<pid>/ and removed as soon as the device holds it open, and the device
// is configured with LO_FLAGS_AUTOCLEAR, so the kernel detaches it when the last descriptor
// closes: when the case returns, or when its process dies at the deadline. Nothing outlives it.
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fmt/format.h>

#include "common/fd.hpp"
#include "common/files.hpp"
#include "conformance/cgroup/helpers.hpp"

namespace ctb::conformance::cgroup_cases {
namespace {

constexpr std::int64_t kLoopMajor = 7;
constexpr const char* kLoopNode = "/dev/ctbloop";

// Removes the backing file's name and directory on every path (the loop device keeps the file).
struct ScratchFile {
    std::string dir, file;
    ~ScratchFile() {
        ::unlink(file.c_str());
        ::rmdir(dir.c_str());
    }
};

class LoopDevice {
public:
    static Result<LoopDevice> attach(off_t bytes);
    int minor() const { return minor_; }

private:
    LoopDevice(UniqueFd fd, int minor) : fd_(std::move(fd)), minor_(minor) {}
    static Result<UniqueFd> backing_file(const ScratchFile& f, off_t bytes);
    UniqueFd fd_;  // held until the case ends; its close detaches the device (autoclear)
    int minor_;
};

Result<UniqueFd> LoopDevice::backing_file(const ScratchFile& f, off_t bytes) {
    if (auto ok = make_dirs("/run/ctbench"); !ok) return fail(ok.error());
    if (::mkdir(f.dir.c_str(), 0700) != 0 && errno != EEXIST) return fail(sys_error("mkdir", f.dir));
    UniqueFd fd(::open(f.file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return fail(sys_error("create", f.file));
    if (::ftruncate(fd.get(), bytes) != 0) return fail(sys_error("ftruncate", f.file));
    return fd;
}

Result<LoopDevice> LoopDevice::attach(off_t bytes) {
    std::string dir = fmt::format("/run/ctbench/cgroup-loop-{}", ::getpid());
    ScratchFile scratch{dir, dir + "/ctbench-loop.img"};
    auto backing = backing_file(scratch, bytes);
    if (!backing) return fail(backing.error());
    UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
    if (!control) return fail(sys_error("open", "/dev/loop-control"));
    // Another process may take the free device between GET_FREE and CONFIGURE (EBUSY): retry.
    for (int attempt = 0; attempt < 8; ++attempt) {
        int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
        if (n < 0) return fail(sys_error("LOOP_CTL_GET_FREE", "/dev/loop-control"));
        std::string dev = fmt::format("/dev/loop{}", n);
        UniqueFd loop(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
        if (!loop) return fail(sys_error("open", dev));
        loop_config config{};
        config.fd = static_cast<__u32>(backing->get());
        config.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_READ_ONLY;
        std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), scratch.file.c_str(), LO_NAME_SIZE - 1);
        if (::ioctl(loop.get(), LOOP_CONFIGURE, &config) == 0) return LoopDevice(std::move(loop), n);
        if (errno != EBUSY) return fail(sys_error("LOOP_CONFIGURE", dev));
    }
    return fail(plain_error("attach a loop device", scratch.file, "every free loop device was taken by another process"));
}

struct Reading {
    double seconds = 0;
    double mib_per_s = 0;
    json evidence;
};

// Reads `mib` MiB with O_DIRECT (no page cache: every byte is a bio the throttle sees) and times
// it with busybox time (10 ms resolution).
Result<Reading> timed_read(Runtime& rt, int minor, double mib, std::optional<std::uint64_t> bps) {
    constexpr int kBlockKib = 256;
    int blocks = static_cast<int>(mib * 1024 / kBlockKib);
    RunRequest r;
    r.spec = shell_spec(fmt::format("/bin/time -p /bin/dd if={} of=/dev/null bs={}k count={} iflag=direct 2>&1; echo dd_status=$?",
                                    kLoopNode, kBlockKib, blocks));
    spec::Device d;
    d.path = kLoopNode;
    d.type = "b";
    d.major = kLoopMajor;
    d.minor = minor;
    d.file_mode = 0600;
    r.spec.linux.devices.push_back(d);
    auto& res = resources(r.spec);
    res.devices.push_back(spec::DeviceRule{true, "b", kLoopMajor, minor, "r"});
    if (bps) res.block_io.emplace().throttle_read_bps_device.push_back({kLoopMajor, minor, *bps});
    auto out = rt.run(r);
    if (!out) return fail(out.error());
    auto real = out->out.find("real ");
    auto status = line_int(out->out, "dd_status");
    if (real == std::string::npos || status != 0)
        return fail(plain_error("dd", kLoopNode, fmt::format("stdout {:?} stderr {:?}", out->out, out->err)));
    Reading reading;
    reading.seconds = std::stod(out->out.substr(real + 5));
    // Below the timer's resolution: count it as one tick, which only understates the rate.
    reading.mib_per_s = mib / std::max(reading.seconds, 0.01);
    reading.evidence = {{"mib", mib}, {"block_kib", kBlockKib}, {"seconds", reading.seconds}, {"mib_per_s", reading.mib_per_s}};
    return reading;
}

Verdict throttle(const CaseContext& ctx) {
    // 1 MiB/s, 1 MiB read: about 1 s throttled. Accepted: at most 2x the limit (the
    // throttle's first time slice may let a little through early) while unthrottled reads run at
    // more than 3x the limit.
    constexpr std::uint64_t kBps = 1 << 20;
    constexpr double kMib = 1.0, kMaxThrottled = 2.0, kMinFree = 3.0;
    auto loop = must(LoopDevice::attach(8 << 20));
    auto rt = runtime_under_test(ctx);
    auto free = timed_read(*rt, loop.minor(), kMib, std::nullopt);
    if (!free) return runtime_failure("read without a throttle", free.error());
    auto slow = timed_read(*rt, loop.minor(), kMib, kBps);
    if (!slow) return runtime_failure("read with throttleReadBpsDevice", slow.error());
    json e = {{"device", fmt::format("loop {}:{}", kLoopMajor, loop.minor())}, {"limit_mib_per_s", 1.0},
              {"throttled", slow->evidence}, {"unthrottled", free->evidence},
              {"accepted_throttled_max_mib_per_s", kMaxThrottled}, {"required_unthrottled_min_mib_per_s", kMinFree}};
    if (free->mib_per_s < kMinFree)
        setup_failed(fmt::format("unthrottled reads ran at only {:.1f} MiB/s: too slow to show a 1 MiB/s limit",
                                          free->mib_per_s));
    if (slow->mib_per_s > kMaxThrottled)
        return Verdict::fail(fmt::format("reads throttled to 1 MiB/s ran at {:.1f} MiB/s", slow->mib_per_s), e);
    return Verdict::pass(e);
}

CTB_CONFORMANCE_CASE({
    .id = "cgroup.blkio.throttle",
    .reference = "Documentation/admin-guide/cgroup-v1/blkio-controller.rst; Documentation/admin-guide/cgroup-v2.rst (io.max); "
        "OCI runtime-spec config-linux.md#block-io",
    .needs = {{K::root, ""}, {K::cgroup_controller, "blkio|io"}, {K::cgroup_feature, "io_throttle"},
        {K::device_node, "/dev/loop-control"}},
    .body = throttle,
});

}  // namespace
}  // namespace ctb::conformance::cgroup_cases

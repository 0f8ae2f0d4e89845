#include "benches/baselines/suite_image.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <fmt/format.h>

#include "benches/baselines/guest_image.hpp"
#include "benches/baselines/guest_net.hpp"
#include "common/files.hpp"
#include "common/subprocess.hpp"
#include "runtime/image/sha256.hpp"

namespace ctb::vm {
namespace {

namespace fs = std::filesystem;

// Bump when the image layout changes in a way the inputs' hash cannot see.
constexpr const char* kImageFormat = "ctbench-suite-image-1";
constexpr std::size_t kKeepImages = 4;

// The /init template: @MODULES@, @PORT@, @BOOTED@, @DONE@, @NET@, @CONTROL@, @NETPORT@ are filled
// in by suite_init_script.
constexpr const char* kInitTemplate = R"INIT(#!/bin/busybox sh
# ctbench suite guest /init (generated; see benches/baselines/suite_image.cpp).
# Logs go to the serial console; the JSON report goes to the virtio-serial port @PORT@.
bb=/bin/busybox
export PATH=/usr/local/bin:/bin:/usr/bin:/sbin:/usr/sbin

# Stage 1: pivot_root(2) refuses the initramfs itself (EINVAL), and every container pivots, so
# the whole image moves to a tmpfs and switch_root runs this script again from there.
if [ ! -e /.ctbench-stage2 ]; then
  $bb mkdir -p /newroot
  $bb mount -t tmpfs -o mode=0755 tmpfs /newroot || { echo "ctbench-guest: tmpfs root failed"; $bb poweroff -f; }
  for e in /*; do
    case "$e" in /newroot|/proc|/sys|/dev) ;; *) $bb cp -a "$e" /newroot/ ;; esac
  done
  $bb mkdir -p /newroot/proc /newroot/sys /newroot/dev
  $bb touch /newroot/.ctbench-stage2
  exec $bb switch_root /newroot /init
fi

$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
$bb mkdir -p /dev/pts /dev/shm /run /tmp /var/lib
$bb mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
$bb mount -t tmpfs -o mode=1777 tmpfs /dev/shm
$bb mount -t tmpfs -o mode=0755 tmpfs /run
$bb mount -t tmpfs -o mode=1777 tmpfs /tmp
# Pure cgroup v2: the unified hierarchy only, no v1 controller mounted anywhere.
$bb mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
# Delegate every controller below the root, as systemd does on a v2 host (ctbench only creates
# its own sub-tree and expects the controllers to be available there).
for c in $($bb cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control || echo "ctbench-guest: cannot enable $c"
done
$bb mount -t tracefs tracefs /sys/kernel/tracing
$bb mount -t bpf bpf /sys/fs/bpf
$bb mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
$bb --install -s /bin
$bb hostname ctbench-guest
$bb ip link set lo up
[ -n "$ctbench_time" ] && $bb date -s "@$ctbench_time" >/dev/null 2>&1
for m in @MODULES@; do
  $bb insmod "$m" || echo "ctbench-guest: insmod $m failed"
done
# State on tmpfs cannot carry user.* xattrs before Linux 6.6 (the overlay cases set them): /run
# (so /run/ctbench, a plain dir as on a host: ctbench unmounts whatever is mounted below it) is an
# ext4 scratch filesystem: on the launcher's virtio-blk disk when there is one (the I/O benches
# then measure a real block device), else on a loop device over a sparse file in guest RAM.
# busybox mke2fs sets no default mount options, so user_xattr is asked for.
scratch="tmpfs (no ext4 scratch)"
if [ -b /dev/vda ] && $bb mke2fs -q /dev/vda >/dev/null && $bb mount -t ext4 -o user_xattr /dev/vda /run; then
  scratch="virtio-blk"
elif dev=$($bb losetup -f) && $bb truncate -s 4G /scratch.img && $bb losetup "$dev" /scratch.img &&
  $bb mke2fs -q "$dev" >/dev/null && $bb mount -t ext4 -o user_xattr "$dev" /run; then
  scratch="loop over guest RAM"
else
  echo "ctbench-guest: no ext4 scratch for /run; it stays on tmpfs (no user xattrs)"
fi
echo "@BOOTED@ kernel=$($bb uname -r) cgroup=$($bb awk '$2 == "/sys/fs/cgroup" {print $3}' /proc/mounts) scratch=$scratch"

port=""
for p in /sys/class/virtio-ports/*; do
  [ "$($bb cat "$p/name" 2>/dev/null)" = "@PORT@" ] && port="/dev/${p##*/}"
done
[ -n "$port" ] || echo "ctbench-guest: no virtio-serial port named @PORT@"

# Guest networking, only when the launcher gave a virtio-net NIC on its tap (ctbench_net=ADDR/PREFIX
# on the kernel command line): the NIC gets that address and no default route (it reaches the
# host's bridge and nothing else), the agent's netbench-server answers the host's workloads, and
# the guest waits on the control port until the host says it is done. Then the NIC goes down again,
# so the command below sees the same guest as without it.
if [ -n "$ctbench_net" ]; then
  ctl=""
  for p in /sys/class/virtio-ports/*; do
    [ "$($bb cat "$p/name" 2>/dev/null)" = "@CONTROL@" ] && ctl="/dev/${p##*/}"
  done
  nic=""
  for n in /sys/class/net/*; do
    [ "$($bb basename "$($bb readlink "$n/device/driver" 2>/dev/null)")" = virtio_net ] && nic="${n##*/}"
  done
  if [ -z "$ctl" ]; then
    echo "@NET@ failed: no virtio-serial port named @CONTROL@"
  elif [ -z "$nic" ]; then
    echo "@NET@ failed: no virtio-net interface (virtio_net not loaded, or no NIC)"
  elif ! { echo 1 > "/proc/sys/net/ipv6/conf/$nic/disable_ipv6"; $bb ip addr add "$ctbench_net" dev "$nic" &&
           $bb ip link set "$nic" up; }; then
    echo "@NET@ failed: cannot give $nic the address $ctbench_net"
  else
    addr="${ctbench_net%/*}"
    /usr/local/bin/ctbench-agent netbench-server @NETPORT@ --bind "$addr" >/run/ctbench-netbench.log 2>&1 &
    srv=$!
    tries=0
    until $bb grep -q listening /run/ctbench-netbench.log || [ "$tries" -ge 100 ]; do
      tries=$((tries + 1)); $bb sleep 0.1
    done
    if $bb grep -q listening /run/ctbench-netbench.log; then
      echo "@NET@ ready addr=$addr port=@NETPORT@ if=$nic mtu=$($bb cat "/sys/class/net/$nic/mtu")"
      # Bounded: the host's deadline kills the guest long before this ends.
      $bb timeout 3600 $bb head -n 1 "$ctl" >/dev/null
    else
      echo "@NET@ failed: netbench-server did not listen: $($bb head -c 300 /run/ctbench-netbench.log)"
    fi
    kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
    $bb ip link set "$nic" down; $bb ip addr flush dev "$nic"
  fi
fi

echo "$ctbench_args" | $bb base64 -d > /run/ctbench-args
set --
while IFS= read -r arg; do set -- "$@" "$arg"; done < /run/ctbench-args
cd /tmp
echo "ctbench-guest: running ctbench $*"
/usr/local/bin/ctbench "$@" --format json --output /run/ctbench-report.json
rc=$?
if [ -n "$port" ] && [ -s /run/ctbench-report.json ]; then
  $bb cat /run/ctbench-report.json > "$port"
fi
# scratch= comes last: its value has spaces.
echo "@DONE@ exit=$rc kernel=$($bb uname -r) clocksource=$($bb cat /sys/devices/system/clocksource/clocksource0/current_clocksource) scratch=$scratch"
$bb sync
$bb poweroff -f
)INIT";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
    return s;
}

// "nf_tables.ko" -> "nf_tables"; modprobe treats '-' and '_' alike, so do we.
std::string module_name(const std::string& path) {
    std::string name = fs::path(path).filename();
    name = name.substr(0, name.find(".ko"));
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

struct ModuleIndex {
    std::map<std::string, std::string> path;                     // name -> path below modules_dir
    std::map<std::string, std::vector<std::string>> depends_on;  // name -> names
    std::set<std::string> builtin;
};

Result<ModuleIndex> read_module_index(const std::string& dir) {
    auto dep = read_file(dir + "/modules.dep");
    if (!dep) return fail(plain_error("read modules.dep in", dir, dep.error().message() +
                                      "; pass --modules DIR with the guest kernel's /lib/modules/<release>"));
    ModuleIndex index;
    std::istringstream lines(*dep);
    for (std::string line; std::getline(lines, line);) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string mod = line.substr(0, colon), name = module_name(mod);
        index.path[name] = mod;
        std::istringstream deps(line.substr(colon + 1));
        for (std::string d; deps >> d;) index.depends_on[name].push_back(module_name(d));
    }
    if (auto builtin = read_file(dir + "/modules.builtin")) {
        std::istringstream b(*builtin);
        for (std::string line; std::getline(b, line);)
            if (!line.empty()) index.builtin.insert(module_name(line));
    }
    return index;
}

// One ldd line: "\tlibfmt.so.9 => /lib/x86_64-linux-gnu/libfmt.so.9 (0x...)" or
// "\t/lib64/ld-linux-x86-64.so.2 (0x...)". Returns the path, "" for the vDSO.
Result<std::string> ldd_path(const std::string& binary, const std::string& raw) {
    std::string line = trim(raw);
    while (!line.empty() && (line.front() == '\t' || line.front() == ' ')) line.erase(0, 1);
    if (line.find("not found") != std::string::npos)
        return fail(plain_error("resolve shared libraries of", binary, "ldd: " + line));
    auto arrow = line.find("=> ");
    std::string rest = arrow == std::string::npos ? line : line.substr(arrow + 3);
    std::string path = rest.substr(0, rest.find(" ("));
    return path.starts_with('/') ? path : "";
}

Status copy_tree_input(const std::string& host, std::string& content) {
    auto bytes = read_file(host);
    if (!bytes) return fail(bytes.error());
    content = std::move(*bytes);
    return {};
}

struct Input {
    std::string host;   // source on the host
    std::string guest;  // absolute path in the guest
    unsigned mode = 0644;
    bool strip = false;  // drop debug sections (binaries built with -g are ~10x their code)
    std::string content{};
};

// objcopy --strip-debug into a scratch file next to the cache; the unstripped content is kept
// when binutils is absent (a bigger image, still correct).
Result<std::string> stripped(const Input& in, const std::string& scratch) {
    if (!find_executable("objcopy")) return in.content;
    RunOptions options;
    options.timeout = std::chrono::seconds(120);
    auto out = run_process({"objcopy", "--strip-debug", in.host, scratch}, options);
    if (!out || !out->exited_ok()) {
        ::unlink(scratch.c_str());
        return fail(plain_error("objcopy --strip-debug", in.host, out ? out->output : out.error().message()));
    }
    auto bytes = read_file(scratch);
    ::unlink(scratch.c_str());
    return bytes;
}

Result<std::vector<Input>> collect_inputs(const SuiteImageSpec& spec, const std::string& release, SuiteImage& image) {
    std::vector<Input> inputs{{spec.ctbench, "/usr/local/bin/ctbench", 0755, true},
                              {spec.runtime, "/usr/local/bin/ctbench-runtime", 0755, true},
                              {spec.agent, "/usr/local/bin/ctbench-agent", 0755, false}};
    if (auto s = check_static_executable(spec.agent); !s) return fail(s.error());
    // ctbench-runtime is a static front end that hands most commands to ctbench-runtime-full
    // beside it (runtime/cli/fast_main.cpp): the guest needs both.
    std::string full = spec.runtime + "-full";
    if (::access(full.c_str(), X_OK) != 0) return fail(sys_error("find ctbench-runtime-full beside", spec.runtime));
    inputs.push_back({full, "/usr/local/bin/ctbench-runtime-full", 0755, true});
    std::set<std::string> libs;
    for (const std::string* binary : {&spec.ctbench, &spec.runtime, static_cast<const std::string*>(&full)}) {
        auto found = shared_libraries(*binary);
        if (!found) return fail(found.error());
        libs.insert(found->begin(), found->end());
    }
    for (const auto& lib : libs) inputs.push_back({lib, lib, 0755, false});
    image.libraries.assign(libs.begin(), libs.end());
    auto modules = module_load_order(spec.modules_dir, spec.modules);
    if (!modules) return fail(modules.error());
    image.modules = *modules;
    for (const auto& m : *modules)
        inputs.push_back({spec.modules_dir + "/" + m, fmt::format("/lib/modules/{}/{}", release, m), 0644, false});
    for (auto& in : inputs)
        if (auto s = copy_tree_input(in.host, in.content); !s) return fail(s.error());
    return inputs;
}

std::string digest_of(const std::vector<Input>& inputs, const std::string& init) {
    image::Sha256 h;
    h.update(std::string_view(kImageFormat));
    h.update(std::string_view(init));
    for (const auto& in : inputs) {
        h.update(std::string_view(fmt::format("\n{} {:o} {} {}\n", in.guest, in.mode, in.strip, in.content.size())));
        h.update(std::string_view(in.content));
    }
    return h.hex_digest();
}

// Keeps the newest few images: every rebuild of ctbench makes a new one.
void prune_cache(const std::string& dir, const std::string& keep) {
    std::error_code ec;
    std::vector<fs::directory_entry> images;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string name = e.path().filename();
        if (name.starts_with("suite-") && name.ends_with(".cpio.gz") && e.path() != keep) images.push_back(e);
    }
    std::sort(images.begin(), images.end(), [](const auto& a, const auto& b) {
        std::error_code e1, e2;
        return a.last_write_time(e1) > b.last_write_time(e2);
    });
    for (std::size_t i = kKeepImages - 1; i < images.size(); ++i) fs::remove(images[i].path(), ec);
}

Status write_image(const SuiteImageSpec& spec, std::vector<Input>& inputs, const std::string& init,
                   const std::string& path) {
    std::string scratch = fmt::format("{}/.strip-{}", spec.cache_dir, ::getpid());
    InitramfsSpec ispec{.init_script = init, .files = {}, .dirs = {"/newroot", "/run", "/tmp", "/var/lib", "/etc"},
                        .busybox = spec.busybox};
    ispec.files.push_back({"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", 0644});
    ispec.files.push_back({"/etc/group", "root:x:0:\nnogroup:x:65534:\n", 0644});
    for (auto& in : inputs) {
        if (in.strip) {
            auto small = stripped(in, scratch);
            if (!small) return fail(small.error());
            in.content = std::move(*small);
        }
        ispec.files.push_back({in.guest, std::move(in.content), in.mode});
    }
    // Written aside and renamed, so a concurrent or interrupted build never leaves half an image.
    std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
    if (auto s = write_initramfs(tmp, ispec); !s) {
        ::unlink(tmp.c_str());
        return s;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        auto e = sys_error("rename into the image cache", path);
        ::unlink(tmp.c_str());
        return fail(e);
    }
    return {};
}

}  // namespace

const std::vector<std::string>& suite_modules() {
    static const std::vector<std::string> modules{
        "virtio_mmio", "virtio_console", "virtio_blk", "virtio_net", "overlay", "veth", "bridge", "nf_tables", "nft_nat", "nft_chain_nat",
        "nft_masq", "nft_ct", "nft_fib_inet", "loop", "tun", "fuse"};
    return modules;
}

Result<std::string> kernel_release_of(const std::string& kernel_image) {
    struct stat st {};
    if (::stat(kernel_image.c_str(), &st) != 0) return fail(sys_error("open guest kernel", kernel_image));
    if (!S_ISREG(st.st_mode)) return fail(plain_error("read guest kernel", kernel_image, "not a regular file"));
    auto image = read_file(kernel_image);
    if (!image) return fail(image.error());
    // x86 boot protocol: "HdrS" at 0x202; kernel_version (a pointer, less 0x200) at 0x20e.
    if (image->size() < 0x210 || image->compare(0x202, 4, "HdrS") != 0)
        return fail(plain_error("read guest kernel", kernel_image, "not an x86 bzImage (no HdrS setup header)"));
    std::size_t at = 0x200 + (static_cast<unsigned char>((*image)[0x20e]) | static_cast<unsigned char>((*image)[0x20f]) << 8);
    if (at >= image->size()) return fail(plain_error("read guest kernel", kernel_image, "kernel_version points outside the file"));
    std::string version = image->substr(at, image->find('\0', at) - at);
    std::string release = version.substr(0, version.find(' '));
    if (release.empty()) return fail(plain_error("read guest kernel", kernel_image, "empty kernel_version string"));
    return release;
}

Result<std::vector<std::string>> module_load_order(const std::string& modules_dir, const std::vector<std::string>& names) {
    auto index = read_module_index(modules_dir);
    if (!index) return fail(index.error());
    std::vector<std::string> order;
    std::set<std::string> done;
    std::function<Status(const std::string&)> visit = [&](const std::string& name) -> Status {
        if (done.contains(name)) return {};
        done.insert(name);
        auto it = index->path.find(name);
        if (it == index->path.end()) {
            if (index->builtin.contains(name)) return {};
            return fail(plain_error("find kernel module", name,
                                    fmt::format("neither in {0}/modules.dep nor built in ({0}/modules.builtin)", modules_dir)));
        }
        if (!it->second.ends_with(".ko"))
            return fail(plain_error("use kernel module", modules_dir + "/" + it->second,
                                    "compressed; busybox insmod in the guest needs plain .ko files"));
        for (const auto& dep : index->depends_on[name])
            if (auto s = visit(dep); !s) return s;
        order.push_back(it->second);
        return {};
    };
    for (const auto& n : names) {
        std::string name = n;
        std::replace(name.begin(), name.end(), '-', '_');
        if (auto s = visit(name); !s) return fail(s.error());
    }
    return order;
}

Result<std::vector<std::string>> shared_libraries(const std::string& binary) {
    if (::access(binary.c_str(), R_OK) != 0) return fail(sys_error("read", binary));
    RunOptions options;
    options.timeout = std::chrono::seconds(30);
    auto out = run_process({"ldd", binary}, options);
    if (!out) return fail(out.error());
    std::vector<std::string> libs;
    if (out->output.find("not a dynamic executable") != std::string::npos ||
        out->output.find("statically linked") != std::string::npos)
        return libs;
    if (!out->exited_ok()) return fail(plain_error("ldd", binary, trim(out->output)));
    std::istringstream lines(out->output);
    for (std::string line; std::getline(lines, line);) {
        auto path = ldd_path(binary, line);
        if (!path) return fail(path.error());
        if (!path->empty()) libs.push_back(*path);
    }
    return libs;
}

std::string suite_init_script(const std::vector<std::string>& modules) {
    std::string list;
    for (const auto& m : modules) list += (list.empty() ? "" : " ") + m;
    std::string s = replace_all(kInitTemplate, "@MODULES@", list);
    s = replace_all(s, "@PORT@", report_port_name);
    s = replace_all(s, "@BOOTED@", guest_booted_marker);
    s = replace_all(s, "@NET@", guest_net_marker);
    s = replace_all(s, "@CONTROL@", control_port_name);
    s = replace_all(s, "@NETPORT@", std::to_string(kGuestNetPort));
    return replace_all(s, "@DONE@", guest_done_marker);
}

Result<SuiteImage> build_suite_image(const SuiteImageSpec& spec) {
    std::string release = fs::path(spec.modules_dir).filename();
    SuiteImage image;
    auto inputs = collect_inputs(spec, release, image);
    if (!inputs) return fail(inputs.error());
    std::vector<std::string> guest_modules;
    for (const auto& m : image.modules) guest_modules.push_back(fmt::format("/lib/modules/{}/{}", release, m));
    std::string init = suite_init_script(guest_modules);
    image.digest = digest_of(*inputs, init);
    if (auto s = make_dirs(spec.cache_dir); !s) return fail(s.error());
    image.path = fmt::format("{}/suite-{}.cpio.gz", spec.cache_dir, image.digest.substr(0, 16));
    struct stat st {};
    image.cache_hit = ::stat(image.path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
    if (!image.cache_hit) {
        if (auto s = write_image(spec, *inputs, init, image.path); !s) return fail(s.error());
        prune_cache(spec.cache_dir, image.path);
    }
    return image;
}

}  // namespace ctb::vm

// ns.mount.old_root_escapes: after pivot_root the old root is really gone from the container's
// mount namespace, not only hidden from its view. A process inside with CAP_SYS_ADMIN tries the
// known ways back (walking ".." past "/", /proc/1/root, re-entering its own mount namespace with
// setns(2), lazily unmounting its root and looking again) for a marker file that exists only on the
// host. The control is a plain chroot(2) into the same image in a private mount namespace: there
// re-entering the mount namespace does reach the marker, which shows that the probes can see an
// old root that is still there.
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/files.hpp"
#include "conformance/ns/support.hpp"
#include "runtime/image/image.hpp"

namespace ctb::conformance::nscase {
namespace {

constexpr const char* kOldrootRef = "pivot_root(2) NOTES; mount_namespaces(7); setns(2); OCI runtime-spec config-linux.md#namespaces";

// Each attempt prints "<name>=reached" when it could read the marker, "<name>=blocked" otherwise.
std::string attempts_script(const std::string& marker) {
    return fmt::format(
        "M={0}\n"
        "try() {{ n=$1; shift; if \"$@\" >/dev/null 2>&1; then echo \"$n=reached\"; else echo \"$n=blocked\"; fi; }}\n"
        "try host_path cat $M\n"
        "try dotdot cat /../../../../..$M\n"
        "try proc1_root cat /proc/1/root$M\n"
        "try setns_own_mnt nsenter --mount=/proc/self/ns/mnt cat $M\n"
        "try setns_init_mnt nsenter --mount=/proc/1/ns/mnt cat $M\n"
        "umount -l / >/dev/null 2>&1; echo lazy_umount_root_status=$?\n"
        "try after_lazy_umount cat $M\n"
        "try after_lazy_umount_dotdot cat /../../..$M\n"
        "try after_lazy_umount_setns nsenter --mount=/proc/self/ns/mnt cat $M\n"
        "echo attempts-done\n",
        marker);
}

// "name=reached|blocked" lines as a JSON object.
json parse_attempts(const std::string& out) {
    json r = json::object();
    for (const auto& l : lines(out)) {
        auto eq = l.find('=');
        if (eq != std::string::npos && l.find(' ') == std::string::npos) r[l.substr(0, eq)] = l.substr(eq + 1);
    }
    return r;
}

// The control: the same script under chroot(2) into the image, in a private mount namespace.
json chroot_control(const std::string& image, const std::string& script) {
    return in_child([&]() -> json {
        if (::unshare(CLONE_NEWNS) != 0) return {{"setup", "unshare: " + errno_name(errno)}};
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            return {{"setup", "make / private: " + errno_name(errno)}};
        if (::chroot(image.c_str()) != 0 || ::chdir("/") != 0) return {{"setup", "chroot: " + errno_name(errno)}};
        // nsenter opens /proc/self/ns/mnt: a proc of its own in the chroot (gone with the namespace).
        if (::mount("proc", "/proc", "proc", 0, nullptr) != 0) return {{"setup", "mount proc: " + errno_name(errno)}};
        FILE* p = ::popen(script.c_str(), "r");
        if (!p) return {{"setup", "popen: " + errno_name(errno)}};
        std::string out;
        char buf[512];
        while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
        ::pclose(p);
        return {{"output", out}};
    });
}

Verdict old_root_escapes(const CaseContext& ctx) {
    ScratchDir dir("oldroot-escape");
    std::string marker = dir.path() + "/ctbench-host-only-marker";
    must(write_file(marker, "host"), "create the marker");
    std::string script = attempts_script(marker);

    json control = chroot_control(must(image::ensure_default_image(), "the image"), script);
    if (control.contains("setup")) setup_failed("chroot control: " + control["setup"].get<std::string>());
    json in_chroot = parse_attempts(control.value("output", ""));
    require(in_chroot.value("setns_own_mnt", "") == "reached", "control", "chroot",
            "setns(2) into its own mount namespace did not reach the marker from a chroot: the probes prove nothing: " +
                control.dump());

    Containers cs(ctx);
    spec::Spec s = shell_spec(script);
    add_capabilities(s, {"CAP_SYS_ADMIN", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE"});
    auto out = cs.run(s);
    if (!contains(out.out, "attempts-done")) setup_failed("the attempts did not finish: " + out.out + out.err);
    json inside = parse_attempts(out.out);
    json ev = {{"marker_on_host", marker}, {"container", inside}, {"chroot_control", in_chroot}};
    Checks c;
    for (const auto& [name, result] : inside.items())
        if (name != "lazy_umount_root_status")
            c.expect(result != "reached", "the container reached the host's marker through " + name);
    return c.verdict(ev);
}

CTB_CONFORMANCE_CASE({
    .id = "ns.mount.old_root_escapes",
    .reference = kOldrootRef,
    .needs = container_needs(),
    .body = old_root_escapes,
});

}  // namespace
}  // namespace ctb::conformance::nscase

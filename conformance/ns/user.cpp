// User namespaces: unmapped ids show as the overflow id, capabilities inside count only over
// resources the namespace owns, setgroups "deny", the write-once rules of uid_map, and the loss of
// capabilities when a non-root user execs.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "common/files.hpp"
#include "conformance/ns/support.hpp"

namespace ctb::conformance::nscase {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUserRef = "user_namespaces(7); OCI runtime-spec config-linux.md#user-namespace-mappings";

// A host uid range that nothing on the host uses.
constexpr unsigned kHostBase = 100000;

// Containers map their ids onto the same host ids by default, as the runtime's own tests do (the
// reference runtime's init reaches its rootfs through a 0700 state directory owned by host root).
// What is checked here does not depend on where the ids land: capabilities held in a child user
// namespace never reach resources owned by an ancestor one.
spec::Spec with_user_ns(spec::Spec s, unsigned host_base = 0, unsigned size = 65536) {
    add_namespace(s, "user");
    s.linux.uid_mappings = {{0, host_base, size}};
    s.linux.gid_mappings = {{0, host_base, size}};
    return s;
}

// In the calling (forked) process: a new user namespace in which it is root, with only its own
// ids mapped, as an unprivileged process may do it (setgroups is denied first). 0 or the errno.
int become_root_in_new_userns() {
    uid_t uid = ::geteuid();
    gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER) != 0) return errno;
    if (int e = write_errno("/proc/self/setgroups", "deny"); e) return e;
    if (int e = write_errno("/proc/self/uid_map", fmt::format("0 {} 1", uid)); e) return e;
    if (int e = write_errno("/proc/self/gid_map", fmt::format("0 {} 1", gid)); e) return e;
    return 0;
}

std::string cap_eff_of_self() {
    auto st = proc_status(::getpid());
    return st ? st->at("CapEff") : "";
}

Verdict unmapped_overflow_id(const CaseContext& ctx) {
    // A layer with one file owned by an id inside the mapping and one owned by an id outside it.
    ScratchDir layer("userlayer");
    for (auto [name, id] : {std::pair{"owned-mapped", 7u}, std::pair{"owned-unmapped", 4242u}}) {
        std::string path = layer.path() + "/" + name;
        must(write_file(path, "x"), "create " + path);
        if (::chown(path.c_str(), id, id) != 0) setup_failed("chown " + path + ": " + errno_name(errno));
    }
    ::chmod(layer.path().c_str(), 0755);
    unsigned overflow_uid = std::stoul(read_text("/proc/sys/kernel/overflowuid"));
    unsigned overflow_gid = std::stoul(read_text("/proc/sys/kernel/overflowgid"));
    Containers cs(ctx);
    // Container ids 0..999 are host ids 0..999: 7 is mapped, 4242 is not.
    auto out =
        cs.run(with_user_ns(shell_spec("ctbench-agent stat /owned-mapped; ctbench-agent stat /owned-unmapped"), 0, 1000),
               {layer.path()});
    auto docs = json_lines(out.out);
    if (docs.size() != 2) setup_failed("expected two stat results: " + out.out + out.err);
    json ev = {{"mapping", "0 0 1000"},    {"mapped_file", docs[0]},      {"unmapped_file_host_owner", 4242},
               {"unmapped_file", docs[1]}, {"overflowuid", overflow_uid}, {"overflowgid", overflow_gid}};
    if (docs[0]["uid"] != 7 || docs[0]["gid"] != 7)
        return Verdict::fail("a file owned by a mapped id does not show that id", ev);
    if (docs[1]["uid"] != overflow_uid || docs[1]["gid"] != overflow_gid)
        return Verdict::fail("a file owned by an unmapped id does not show as the overflow ids", ev);
    return Verdict::pass(ev);
}

Verdict caps_only_over_own_resources(const CaseContext& ctx) {
    Containers cs(ctx);
    std::string host_name = trim(read_text("/proc/sys/kernel/hostname"));
    std::string own_name = "ctb-userns-" + short_token();
    // Root of a user namespace, with CAP_SYS_ADMIN, in a uts namespace the user namespace owns.
    spec::Spec owned = with_user_ns(shell_spec(
        fmt::format("ctbench-agent sethostname {}; ctbench-agent mount-tmpfs /tmp/own; ctbench-agent info", own_name)));
    add_capabilities(owned, {"CAP_SYS_ADMIN"});
    auto own_out = cs.run(owned);
    auto own_docs = json_lines(own_out.out);
    // The same, but in the host's uts namespace. The name it tries is the host's own, so even a
    // kernel that wrongly allowed it would leave the host as it was.
    spec::Spec shared = with_user_ns(shell_spec(fmt::format("ctbench-agent sethostname {}", host_name)));
    remove_namespace(shared, "uts");
    shared.hostname.clear();
    add_capabilities(shared, {"CAP_SYS_ADMIN"});
    auto shared_out = cs.run(shared);
    auto shared_docs = json_lines(shared_out.out);
    if (own_docs.size() != 3 || shared_docs.size() != 1)
        setup_failed("unexpected agent output: " + own_out.out + own_out.err + shared_out.out + shared_out.err);
    // Raw: root of a fresh user namespace mounts in the mount namespace it came from (owned by
    // the host's user namespace, an ancestor), then in one of its own.
    ScratchDir target("usermnt");
    json raw = in_child([&] {
        if (int e = become_root_in_new_userns(); e) return json{{"setup", err_name(e)}};
        json r = {{"cap_eff_in_userns", cap_eff_of_self()}};
        int host_mount = ::mount("tmpfs", target.path().c_str(), "tmpfs", 0, "size=1m") == 0 ? 0 : errno;
        if (host_mount == 0) ::umount2(target.path().c_str(), MNT_DETACH);  // wrongly allowed: undo
        r["mount_in_ancestor_owned_mount_ns"] = err_name(host_mount);
        if (::unshare(CLONE_NEWNS) != 0) return json{{"setup", "unshare(CLONE_NEWNS): " + err_name(errno)}};
        r["mount_in_own_mount_ns"] =
            err_name(::mount("tmpfs", target.path().c_str(), "tmpfs", 0, "size=1m") == 0 ? 0 : errno);
        return r;
    });
    if (raw.contains("setup")) setup_failed("raw user namespace: " + raw["setup"].get<std::string>());
    std::string host_after = trim(read_text("/proc/sys/kernel/hostname"));
    json ev = {
        {"own_uts",
         {{"sethostname", own_docs[0]},
          {"hostname_after", own_docs[2]["hostname"]},
          {"mount_tmpfs_own_mount_ns", own_docs[1]},
          {"uid_map", own_docs[2]["uid_map"]},
          {"cap_eff", own_docs[2]["capabilities"]["effective"]}}},
        {"host_uts",
         {{"sethostname", shared_docs[0]}, {"host_hostname_before", host_name}, {"host_hostname_after", host_after}}},
        {"raw", raw}};
    if (own_docs[0].value("ok", false) != true || own_docs[2]["hostname"] != own_name)
        return Verdict::fail("root in a user namespace could not set the hostname of its own uts namespace", ev);
    if (own_docs[1].value("ok", false) != true)
        return Verdict::fail("root in a user namespace could not mount in its own mount namespace", ev);
    if (shared_docs[0]["errno_name"] != "EPERM")
        return Verdict::fail("root in a user namespace was not refused (EPERM) the host's hostname", ev);
    if (host_after != host_name) return Verdict::fail("the host's hostname changed", ev);
    if (raw["mount_in_ancestor_owned_mount_ns"] != "EPERM")
        return Verdict::fail(
            "root in a user namespace was not refused (EPERM) a mount in a mount namespace its parent owns", ev);
    if (raw["mount_in_own_mount_ns"] != "ok")
        return Verdict::fail("root in a user namespace could not mount in a mount namespace it owns", ev);
    return Verdict::pass(ev);
}

Verdict setgroups_deny(const CaseContext&) {
    // setgroups "deny", written before the gid_map, as an unprivileged writer must.
    json denied = in_child([] {
        if (int e = become_root_in_new_userns(); e) return json{{"setup", err_name(e)}};
        json r = {{"setgroups_file", trim(read_text("/proc/self/setgroups"))}, {"cap_eff", cap_eff_of_self()}};
        gid_t g = 0;
        r["setgroups"] = err_name(::setgroups(1, &g) == 0 ? 0 : errno);
        r["setgroups_empty"] = err_name(::setgroups(0, nullptr) == 0 ? 0 : errno);
        // Once gid_map is written, "deny" cannot be taken back.
        r["write_allow_after_gid_map"] = err_name(write_errno("/proc/self/setgroups", "allow"));
        return r;
    });
    if (denied.contains("setup")) setup_failed("user namespace: " + denied["setup"].get<std::string>());
    // Control: the same namespace with setgroups left at "allow" (maps written by a privileged parent).
    GatedChild allowed([] { return ::unshare(CLONE_NEWUSER) == 0 ? 0 : errno; },
                       [] {
                           json r = {{"setgroups_file", trim(read_text("/proc/self/setgroups"))}};
                           gid_t g = 0;
                           r["setgroups"] = err_name(::setgroups(1, &g) == 0 ? 0 : errno);
                           return r;
                       });
    if (int e = allowed.wait_ready(); e) setup_failed("unshare(CLONE_NEWUSER): " + err_name(e));
    for (const char* map : {"uid_map", "gid_map"})
        if (int e = write_errno(fmt::format("/proc/{}/{}", allowed.pid(), map), fmt::format("0 {} 1", kHostBase)); e)
            setup_failed(fmt::format("write {}: {}", map, err_name(e)));
    json control = allowed.finish();
    json ev = {{"deny", denied}, {"allow", control}};
    if (denied["setgroups_file"] != "deny") return Verdict::fail("/proc/self/setgroups does not read back deny", ev);
    if (denied["setgroups"] != "EPERM" || denied["setgroups_empty"] != "EPERM")
        return Verdict::fail("setgroups(2) was not refused with EPERM under setgroups deny", ev);
    if (denied["write_allow_after_gid_map"] != "EPERM")
        return Verdict::fail("setgroups could be switched back to allow after gid_map was written", ev);
    if (control["setgroups"] != "ok") return Verdict::fail("control: setgroups(2) failed with setgroups allow", ev);
    return Verdict::pass(ev);
}

Verdict uid_map_write_rules(const CaseContext&) {
    // A privileged writer (the host's root, in the parent namespace) may map any ids, in several
    // ranges, once: here its own uid 0 and host ids 100001.. as 1..
    ScratchDir dir("uidmap");
    std::string owned = dir.path() + "/owned-by-100005";
    must(write_file(owned, "x"), "create " + owned);
    if (::chown(owned.c_str(), kHostBase + 5, kHostBase + 5) != 0) setup_failed("chown: " + errno_name(errno));
    GatedChild child([] { return ::unshare(CLONE_NEWUSER) == 0 ? 0 : errno; },
                     [&] {
                         struct stat st {};
                         if (::stat(owned.c_str(), &st) != 0)
                             setup_failed("stat " + owned + ": " + errno_name(errno));
                         return json{{"uid_inside", ::getuid()},
                                     {"uid_map", lines(read_text("/proc/self/uid_map"))},
                                     {"owner_of_host_100005_file", st.st_uid}};
                     });
    if (int e = child.wait_ready(); e) setup_failed("unshare(CLONE_NEWUSER): " + err_name(e));
    std::string map_path = fmt::format("/proc/{}/uid_map", child.pid());
    std::string ranges = fmt::format("0 0 1\n1 {} 65535\n", kHostBase + 1);
    json privileged = {{"first_write", err_name(write_errno(map_path, ranges))},
                       {"second_write", err_name(write_errno(map_path, fmt::format("0 {} 1", kHostBase)))}};
    if (int e = write_errno(fmt::format("/proc/{}/gid_map", child.pid()), ranges); e)
        setup_failed("write gid_map: " + err_name(e));
    privileged["child"] = child.finish();
    // An unprivileged writer (uid 4242, no capabilities) may map only its own uid, one id.
    json unprivileged = in_child([] {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(4242, 4242, 4242) != 0 || ::setresuid(4242, 4242, 4242) != 0)
            return json{{"setup", "drop to 4242: " + err_name(errno)}};
        // Changing the euid made us non-dumpable, which hands /proc/self/* to root.
        if (::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) return json{{"setup", "PR_SET_DUMPABLE: " + err_name(errno)}};
        json r = {{"cap_eff_before", cap_eff_of_self()}};
        if (::unshare(CLONE_NEWUSER) != 0) return json{{"unshare", err_name(errno)}};
        r["map_other_uid"] = err_name(write_errno("/proc/self/uid_map", "0 4243 1"));
        r["map_range"] = err_name(write_errno("/proc/self/uid_map", "0 4242 2"));
        r["gid_map_before_setgroups_deny"] = err_name(write_errno("/proc/self/gid_map", "0 4242 1"));
        r["map_own_uid"] = err_name(write_errno("/proc/self/uid_map", "0 4242 1"));
        r["map_own_uid_again"] = err_name(write_errno("/proc/self/uid_map", "0 4242 1"));
        r["uid_inside"] = ::getuid();
        return r;
    });
    if (unprivileged.contains("setup")) setup_failed(unprivileged["setup"].get<std::string>());
    json ev = {{"privileged_writer", privileged}, {"unprivileged_writer", unprivileged}};
    if (privileged["first_write"] != "ok") return Verdict::fail("a privileged writer could not map a range", ev);
    if (privileged["second_write"] != "EPERM") return Verdict::fail("uid_map could be written twice", ev);
    if (privileged["child"]["uid_map"].size() != 2) return Verdict::fail("uid_map does not hold the first mapping", ev);
    if (privileged["child"]["uid_inside"] != 0 || privileged["child"]["owner_of_host_100005_file"] != 5)
        return Verdict::fail("the first mapping does not apply (uid inside, or a host file's owner)", ev);
    if (unprivileged.contains("unshare"))
        return Verdict::skip("unprivileged user namespaces are not allowed here: unshare " +
                             unprivileged["unshare"].get<std::string>());
    if (unprivileged["map_other_uid"] != "EPERM") return Verdict::fail("an unprivileged writer mapped another uid", ev);
    if (unprivileged["map_range"] != "EPERM")
        return Verdict::fail("an unprivileged writer mapped more than one id", ev);
    if (unprivileged["gid_map_before_setgroups_deny"] != "EPERM")
        return Verdict::fail("an unprivileged writer wrote gid_map with setgroups still allowed", ev);
    if (unprivileged["map_own_uid"] != "ok")
        return Verdict::fail("an unprivileged writer could not map its own uid", ev);
    if (unprivileged["map_own_uid_again"] != "EPERM")
        return Verdict::fail("an unprivileged writer wrote uid_map twice", ev);
    if (unprivileged["uid_inside"] != 0) return Verdict::fail("the unprivileged mapping does not apply", ev);
    return Verdict::pass(ev);
}

// In the calling (forked) process, root of a user namespace with every capability: become uid
// 1000 keeping the permitted set, raise it to effective (and, with `ambient`, raise
// CAP_NET_BIND_SERVICE to inheritable and ambient), then execve(2) /bin/cat on its own status.
json exec_as_1000(bool ambient) {
    json r;
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || ::setgroups(0, nullptr) != 0 ||
        ::setresgid(1000, 1000, 1000) != 0 || ::setresuid(1000, 1000, 1000) != 0)
        return json{{"setup", "become uid 1000 keeping capabilities: " + err_name(errno)}};
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &header, data) != 0) return json{{"setup", "capget: " + err_name(errno)}};
    for (auto& d : data) d.effective = d.permitted;
    if (ambient) data[0].inheritable |= 1u << CAP_NET_BIND_SERVICE;
    if (::syscall(SYS_capset, &header, data) != 0) return json{{"setup", "capset: " + err_name(errno)}};
    if (ambient && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) != 0)
        return json{{"setup", "raise ambient CAP_NET_BIND_SERVICE: " + err_name(errno)}};
    ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    r["uid"] = ::getuid();
    r["cap_eff_before_exec"] = cap_eff_of_self();
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return json{{"setup", "pipe2: " + err_name(errno)}};
    pid_t pid = ::fork();
    if (pid < 0) return json{{"setup", "fork: " + err_name(errno)}};
    if (pid == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        ::execl("/bin/cat", "cat", "/proc/self/status", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(out[1]);
    std::string status;
    char buf[4096];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) status.append(buf, static_cast<std::size_t>(n));
    ::close(out[0]);
    int ws = 0;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) return json{{"setup", "exec /bin/cat failed"}};
    for (const auto& l : lines(status))
        for (const char* key : {"Uid:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"})
            if (l.rfind(key, 0) == 0) r["after_exec"][std::string(key, std::strlen(key) - 1)] = trim(words(l).back());
    return r;
}

// A user namespace whose root (host root, mapped as 0) also maps uid and gid 1000.
json in_userns_as_1000(bool ambient) {
    GatedChild child([] { return ::unshare(CLONE_NEWUSER) == 0 ? 0 : errno; },
                     [ambient] { return exec_as_1000(ambient); });
    if (int e = child.wait_ready(); e) setup_failed("unshare(CLONE_NEWUSER): " + err_name(e));
    for (const char* map : {"uid_map", "gid_map"})
        if (int e = write_errno(fmt::format("/proc/{}/{}", child.pid(), map), "0 0 1\n1000 1000 1\n"); e)
            setup_failed(fmt::format("write {}: {}", map, err_name(e)));
    json r = child.finish();
    if (r.contains("setup")) setup_failed(r["setup"].get<std::string>());
    return r;
}

// The same through the runtime: a container in a user namespace whose process is uid 1000 with
// the default capability set in effective and permitted (and, with `ambient`, one of them also
// inheritable and ambient), as the agent sees its own capabilities after the runtime's execve.
json container_as_1000(Containers& cs, bool ambient) {
    spec::Spec s = with_user_ns(agent({"info"}));
    s.process.user.uid = 1000;
    s.process.user.gid = 1000;
    if (ambient) {
        s.process.capabilities->inheritable = {"CAP_NET_BIND_SERVICE"};
        s.process.capabilities->ambient = {"CAP_NET_BIND_SERVICE"};
    }
    json info = agent_json(cs.run(s), "agent info as uid 1000");
    const json& caps = info["capabilities"];
    return {{"uid", info["uid"]["effective"]},
            {"after_exec",
             {{"CapEff", caps["effective"]},
              {"CapPrm", caps["permitted"]},
              {"CapBnd", caps["bounding"]},
              {"CapInh", caps["inheritable"]},
              {"CapAmb", caps["ambient"]}}}};
}

Verdict caps_cleared_on_exec_nonzero_uid(const CaseContext& ctx) {
    Containers cs(ctx);
    json ev = {{"raw", {{"without_ambient", in_userns_as_1000(false)}, {"with_ambient", in_userns_as_1000(true)}}},
               {"container",
                {{"without_ambient", container_as_1000(cs, false)}, {"with_ambient", container_as_1000(cs, true)}}}};
    auto hex = [](const json& v) { return v.is_string() ? std::stoull(v.get<std::string>(), nullptr, 16) : ~0ULL; };
    constexpr unsigned long long kNetBindService = 1ULL << CAP_NET_BIND_SERVICE;
    if (hex(ev["raw"]["without_ambient"]["cap_eff_before_exec"]) == 0)
        setup_failed("uid 1000 had no effective capabilities before execve");
    for (const char* how : {"raw", "container"}) {
        const json& plain = ev[how]["without_ambient"]["after_exec"];
        const json& ambient = ev[how]["with_ambient"]["after_exec"];
        if (hex(plain["CapBnd"]) == 0) setup_failed(fmt::format("{}: the bounding set was empty", how));
        std::string where = how;
        if (hex(plain["CapEff"]) != 0 || hex(plain["CapPrm"]) != 0)
            return Verdict::fail(where + ": uid 1000 kept capabilities across execve without ambient ones", ev);
        if (hex(ambient["CapEff"]) != kNetBindService || hex(ambient["CapPrm"]) != kNetBindService)
            return Verdict::fail(where + ": with CAP_NET_BIND_SERVICE ambient, only it should survive execve", ev);
    }
    return Verdict::pass(ev);
}

CTB_CONFORMANCE_CASE({
    .id = "ns.user.unmapped_overflow_id",
    .reference = kUserRef,
    .needs = container_needs({"user"}),
    .body = unmapped_overflow_id,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.user.caps_only_over_own_resources",
    .reference = kUserRef,
    .needs = container_needs({"user"}),
    .body = caps_only_over_own_resources,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.user.setgroups_deny",
    .reference = kUserRef,
    .needs = raw_needs({"user"}),
    .body = setgroups_deny,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.user.uid_map_write_rules",
    .reference = kUserRef,
    .needs = raw_needs({"user"}),
    .body = uid_map_write_rules,
});
CTB_CONFORMANCE_CASE({
    .id = "ns.user.caps_cleared_on_exec_nonzero_uid",
    .reference = "capabilities(7) execve; user_namespaces(7); OCI runtime-spec config.md#linux-process",
    .needs = container_needs({"user"}),
    .body = caps_cleared_on_exec_nonzero_uid,
});

}  // namespace
}  // namespace ctb::conformance::nscase

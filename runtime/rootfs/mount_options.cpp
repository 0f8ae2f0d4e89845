#include "runtime/rootfs/mount_options.hpp"

#include <algorithm>

#include <sys/mount.h>

#include <string_view>

namespace ctb::rootfs {
namespace {

struct FlagOption {
    std::string_view name;
    unsigned long flag;
    bool clears;  // "rw" clears MS_RDONLY, "suid" clears MS_NOSUID ...
};

constexpr FlagOption kFlagOptions[] = {
    {"ro", MS_RDONLY, false},         {"rw", MS_RDONLY, true},
    {"nosuid", MS_NOSUID, false},     {"suid", MS_NOSUID, true},
    {"nodev", MS_NODEV, false},       {"dev", MS_NODEV, true},
    {"noexec", MS_NOEXEC, false},     {"exec", MS_NOEXEC, true},
    {"sync", MS_SYNCHRONOUS, false},  {"async", MS_SYNCHRONOUS, true},
    {"dirsync", MS_DIRSYNC, false},   {"remount", MS_REMOUNT, false},
    {"mand", MS_MANDLOCK, false},     {"nomand", MS_MANDLOCK, true},
    {"noatime", MS_NOATIME, false},   {"atime", MS_NOATIME, true},
    {"nodiratime", MS_NODIRATIME, false}, {"diratime", MS_NODIRATIME, true},
    {"relatime", MS_RELATIME, false}, {"norelatime", MS_RELATIME, true},
    {"strictatime", MS_STRICTATIME, false}, {"nostrictatime", MS_STRICTATIME, true},
    {"nosymfollow", MS_NOSYMFOLLOW, false}, {"symfollow", MS_NOSYMFOLLOW, true},
    {"iversion", MS_I_VERSION, false}, {"noiversion", MS_I_VERSION, true},
    {"lazytime", MS_LAZYTIME, false}, {"nolazytime", MS_LAZYTIME, true},
    {"silent", MS_SILENT, false},     {"loud", MS_SILENT, true},
    {"bind", MS_BIND, false},         {"rbind", MS_BIND | MS_REC, false},
};

struct RecursiveOption {
    std::string_view name;
    unsigned attr;
    bool clears;
    bool atime;  // atime modes are one field: setting one must clear MOUNT_ATTR__ATIME first
};

constexpr RecursiveOption kRecursiveOptions[] = {
    {"rro", MOUNT_ATTR_RDONLY, false, false},       {"rrw", MOUNT_ATTR_RDONLY, true, false},
    {"rnosuid", MOUNT_ATTR_NOSUID, false, false},   {"rsuid", MOUNT_ATTR_NOSUID, true, false},
    {"rnodev", MOUNT_ATTR_NODEV, false, false},     {"rdev", MOUNT_ATTR_NODEV, true, false},
    {"rnoexec", MOUNT_ATTR_NOEXEC, false, false},   {"rexec", MOUNT_ATTR_NOEXEC, true, false},
    {"rnodiratime", MOUNT_ATTR_NODIRATIME, false, false}, {"rdiratime", MOUNT_ATTR_NODIRATIME, true, false},
    {"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, false, false}, {"rsymfollow", MOUNT_ATTR_NOSYMFOLLOW, true, false},
    {"rnoatime", MOUNT_ATTR_NOATIME, false, true},  {"rrelatime", MOUNT_ATTR_RELATIME, false, true},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME, false, true},
};

struct PropagationOption {
    std::string_view name;
    unsigned long flags;
};

constexpr PropagationOption kPropagation[] = {
    {"private", MS_PRIVATE},   {"rprivate", MS_PRIVATE | MS_REC},
    {"slave", MS_SLAVE},       {"rslave", MS_SLAVE | MS_REC},
    {"shared", MS_SHARED},     {"rshared", MS_SHARED | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

// Options that are valid in a config.json but that this runtime does not act on.
std::optional<std::string> ignored_note(std::string_view option) {
    if (option == "defaults") return std::nullopt;  // means "no option": nothing to note
    if (option == "tmpcopyup")
        return "tmpcopyup: ignored (the tmpfs starts empty; image content under it is not copied up)";
    if (option.starts_with("x-"))  // userspace-only options by mount(8) convention
        return std::string(option) + ": ignored (userspace-only option)";
    return std::nullopt;
}

bool apply_flag_option(MountOptions& out, std::string_view option) {
    for (const auto& f : kFlagOptions) {
        if (f.name != option) continue;
        if (f.clears) {
            out.flags &= ~f.flag;
            out.cleared |= f.flag;
        } else {
            out.flags |= f.flag;
            out.cleared &= ~f.flag;
        }
        return true;
    }
    return false;
}

bool apply_recursive_option(MountOptions& out, std::string_view option) {
    for (const auto& r : kRecursiveOptions) {
        if (r.name != option) continue;
        if (r.atime) {
            out.recursive_clear |= MOUNT_ATTR__ATIME;
            out.recursive_set = (out.recursive_set & ~MOUNT_ATTR__ATIME) | r.attr;
        } else if (r.clears) {
            out.recursive_set &= ~r.attr;
            out.recursive_clear |= r.attr;
        } else {
            out.recursive_set |= r.attr;
            out.recursive_clear &= ~r.attr;
        }
        return true;
    }
    return false;
}

}  // namespace

bool MountOptions::is_bind() const { return (flags & MS_BIND) != 0; }
bool MountOptions::is_recursive_bind() const { return (flags & (MS_BIND | MS_REC)) == (MS_BIND | MS_REC); }

std::optional<unsigned long> propagation_flags(const std::string& name) {
    for (const auto& p : kPropagation)
        if (p.name == name) return p.flags;
    return std::nullopt;
}

unsigned long per_mount_flags_mask() {
    return MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW | MS_NOATIME | MS_NODIRATIME |
           MS_RELATIME | MS_STRICTATIME;
}

std::vector<std::string> known_mount_options() {
    std::vector<std::string> out{"defaults", "idmap", "ridmap"};
    for (const auto& f : kFlagOptions) out.emplace_back(f.name);
    for (const auto& r : kRecursiveOptions) out.emplace_back(r.name);
    for (const auto& p : kPropagation) out.emplace_back(p.name);
    std::sort(out.begin(), out.end());
    return out;
}

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options) {
    MountOptions out;
    for (std::size_t i = 0; i < options.size(); ++i) {
        const std::string& o = options[i];
        if (o.empty() || o == "defaults") continue;
        if (apply_flag_option(out, o) || apply_recursive_option(out, o)) continue;
        if (auto p = propagation_flags(o)) {
            out.propagation.push_back(*p);
            continue;
        }
        if (o == "idmap" || o == "ridmap") {
            out.idmap = o == "idmap" ? MountOptions::Idmap::top : MountOptions::Idmap::recursive;
            continue;
        }
        if (o.starts_with("idmap=") || o.starts_with("ridmap="))
            return fail(plain_error("parse mount option", "options[" + std::to_string(i) + "]",
                                    "\"" + o + "\": give the mapping as the mount's uidMappings and gidMappings "
                                    "(OCI 1.2), with the option \"idmap\" or \"ridmap\" alone"));
        if (auto note = ignored_note(o)) {
            out.notes.push_back(*note);
            continue;
        }
        // Anything else belongs to the filesystem: "size=64k", "mode=755", "newinstance".
        if (!out.data.empty()) out.data += ",";
        out.data += o;
    }
    return out;
}

}  // namespace ctb::rootfs

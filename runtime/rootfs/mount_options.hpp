// OCI mount options ("ro", "nosuid", "rbind", "rprivate", "size=64k" ...) split into what
// mount(2) takes as flags, what it takes as filesystem data, what is applied afterwards
// (propagation, recursive attributes) and what is accepted without effect.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace ctb::rootfs {

struct MountOptions {
    unsigned long flags = 0;    // MS_* to set (MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC for rbind ...)
    unsigned long cleared = 0;  // MS_* turned off explicitly ("rw", "suid", "dev", "exec" ...)
    // MS_PRIVATE|MS_REC etc., in the order given: each needs its own mount(2) call after the
    // mount exists (the kernel rejects propagation mixed with other flags).
    std::vector<unsigned long> propagation;
    // mount_setattr(AT_RECURSIVE) attributes from "rro", "rnosuid", "rnoatime" ... (OCI 1.1).
    unsigned recursive_set = 0, recursive_clear = 0;
    std::string data;  // filesystem options, comma-joined ("mode=755,size=65536k")
    // "idmap" / "ridmap" (OCI 1.2): the bind gets an id mapping (idmap.hpp); ridmap applies it to
    // every submount of an rbind too. Never passed to mount(2).
    enum class Idmap { none, top, recursive } idmap = Idmap::none;
    // Accepted without effect, each with why ("tmpcopyup: image content is not copied ...").
    std::vector<std::string> notes;

    bool is_bind() const;
    bool is_recursive_bind() const;
};

// Later options win over earlier ones ("ro,rw" is read-write), as with mount(8).
// Fails only for options whose meaning we cannot honour (crun's "idmap=uids=...;gids=..."
// form, whose mapping belongs in the mount's uidMappings/gidMappings): silently dropping those
// would give the container a different view than the spec asked for.
Result<MountOptions> parse_mount_options(const std::vector<std::string>& options);

// "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"
// -> MS_* (with MS_REC for the r-forms); nullopt for anything else.
std::optional<unsigned long> propagation_flags(const std::string& name);

// Every option parse_mount_options acts on (flags, recursive attributes, propagation, "defaults"),
// for `ctbench-runtime features`.
std::vector<std::string> known_mount_options();

// Per-mount flags a bind remount can change (MS_RDONLY ... MS_NOSYMFOLLOW, atime flags).
unsigned long per_mount_flags_mask();

}  // namespace ctb::rootfs

// Idmapped bind mounts: a mount's uidMappings/gidMappings with the option "idmap" or "ridmap"
// (OCI runtime-spec 1.2, config.md#posix-platform-mounts), made with mount_setattr(2)
// MOUNT_ATTR_IDMAP (Linux 5.12).
//
// Why the runtime prepares them before the container's namespaces exist: the kernel lets only a
// caller with CAP_SYS_ADMIN over the filesystem's own user namespace (the host's, for a host
// directory) idmap a mount, and only a detached one. A container init in a user namespace of its
// own never has that. So, as runc and crun do, the runtime clones the source into a detached
// tree (open_tree OPEN_TREE_CLONE, recursively for an rbind), applies the mapping through a user
// namespace that carries it, and the init only moves the finished tree onto its mount point
// (move_mount) inside its own mount namespace. The tree descriptors reach the init through
// clone3 (a copy of the descriptor table); the runtime closes its own right after the clone.
//
// Which mapping (config.md, option "idmap"): the mount's own uidMappings/gidMappings when given
// (a user namespace made for them: a child process is cloned into a new one, its maps written,
// its ns file opened, the child killed; the namespace lives on as long as the idmapped mount);
// without them the container's linux.uidMappings/gidMappings, when it has a user namespace;
// otherwise an error naming the mount. Mappings without either option are applied as "idmap"
// (the spec says the option SHOULD accompany them; ignoring them would be silent).
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::rootfs {

// Whether any mount asks for an id mapping: a look at option names, so a create without
// idmapped mounts pays nothing more.
bool wants_idmapped_mounts(const std::vector<spec::Mount>& mounts);

// One descriptor per entry of spec.mounts, invalid where no mapping was asked for: the detached
// idmapped tree that apply_mounts moves into place. Errors name the mount's destination (and,
// for a refusal by the kernel, the source's filesystem type).
Result<std::vector<UniqueFd>> prepare_idmapped_mounts(const spec::Spec& spec, bool new_user_ns);

// A user namespace carrying exactly these maps (a descriptor of its /proc/<pid>/ns/user).
Result<UniqueFd> make_user_namespace(const std::vector<spec::IdMapping>& uid_maps,
                                     const std::vector<spec::IdMapping>& gid_maps, const std::string& object);

// Moves a prepared tree onto the mount point `point_fd` (an O_PATH descriptor in the root).
Status attach_idmapped_tree(int tree_fd, int point_fd, const std::string& shown);

}  // namespace ctb::rootfs

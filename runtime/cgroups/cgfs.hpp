// Internal: file-system operations on cgroup directories shared by the v1 and v2 backends.
// Not part of the public interface (manager.hpp is).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/deadline.hpp"
#include "common/error.hpp"
#include "runtime/cgroups/mount_fds.hpp"

namespace ctb::cgroup::fs {

// Budgets for the waits the Manager interface does not parameterise.
inline constexpr std::chrono::seconds kFreezeTimeout{5};
inline constexpr std::chrono::seconds kKillTimeout{10};

bool exists(const std::string& path);
// One write(2) of the whole value, without O_CREAT: a cgroup file that does not exist is ENOENT
// (the controller is missing), never an attempt to create a regular file.
Status write(const std::string& path, const std::string& value, const std::string& step);
// apply's writes: the error says "apply <field> <path>: <errno>".
Status write_field(const std::string& field, const std::string& path, const std::string& value);
// The trimmed content of a cgroup file.
Result<std::string> read(const std::string& path);

// The components between slashes of a cgroup path (a leading, doubled or trailing '/' gives
// none), split by hand: it runs several times per create, where a string stream cost more than
// the checks around it.
std::vector<std::string> components(const std::string& path);

// mkdir of mount/relative, one component at a time. The ctbench parent and any intermediate
// may exist already; the leaf must not (EEXIST). Every directory made is appended to `created`
// so a failed create can be rolled back. `after_mkdir(dir)` runs for each level from
// mount/ctbench down to the leaf (existing or new), before the next level is made: v1 cpuset
// fills in cpus/mems there, v2 enables controllers for the level below.
// With existing_leaf_ok the leaf may exist too (an OCI cgroupsPath naming a cgroup made by
// someone else); it is then not in `created`.
Status make_leaf(const std::string& mount, const std::string& relative, std::vector<std::string>& created,
                 const std::function<Status(const std::string& dir, bool is_leaf)>& after_mkdir,
                 bool existing_leaf_ok = false);
// Best-effort rmdir of `created` in reverse order (rollback of make_leaf).
void remove_created(const std::vector<std::string>& created);
// rmdir of dir and its descendants, deepest first, retrying EBUSY until the deadline.
// A directory that is already gone is success.
Status remove_tree(const std::string& dir, const Deadline& deadline);

// Pids in dir/cgroup.procs and every descendant's. A missing dir yields an empty list.
Result<std::vector<pid_t>> procs_recursive(const std::string& dir);
// Sorted, unique union.
std::vector<pid_t> merge_pids(std::vector<pid_t> a, const std::vector<pid_t>& b);

// kill_all's loop: signals every listed pid, by pid. SIGKILL repeats until `list` is empty;
// other signals until no unsignalled pid appears. `after_pass` runs after each round of
// signals (v1 thaws a frozen cgroup there, since v1-frozen tasks do not die until thawed).
Status signal_until_done(const std::function<Result<std::vector<pid_t>>()>& list, int sig,
                         const std::string& where, const std::function<void()>& after_pass = {});

}  // namespace ctb::cgroup::fs

// Removal of everything an interrupted ctbench run may have left, found by the naming rules of
// DESIGN.md (links "ctb*", cgroups below "ctbench", state and netns pins under /run/ctbench,
// nft table "ctbench"). Never touches anything outside those names, and (Scope::runs) nothing a
// user's own ctbench-runtime container, network or volume holds (cli/claims.hpp).
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace ctb::cli {

struct Removal {
    std::string kind;    // process, thaw, mount, link, nft, cgroup, loop, state, user
    std::string object;  // what was removed
    std::string error;   // "" when removed, the reason otherwise
};

// Frozen ctbench cgroups are thawed first (a frozen process cannot die); this process and its
// ancestors are never killed, whatever cgroup they are in. Safe whenever nothing of a run is
// alive: before a run, and after a case that was killed (cases run one at a time under the lock).
enum class Scope {
    runs,        // leftovers of ctbench runs; users' containers, networks, volumes stay
    everything,  // doctor --cleanup --all: every object by the naming rules, users' too
};
// `kept` (if given) gets what was left alone because a user owns it.
std::vector<Removal> remove_leftovers(Scope scope = Scope::runs, std::vector<std::string>* kept = nullptr);

// Exclusive lock that keeps two runs (or a run and a cleanup) from working on the same objects.
// Held for the life of the returned fd. The lock file lives beside, not inside, /run/ctbench.
Result<UniqueFd> take_run_lock();

}  // namespace ctb::cli

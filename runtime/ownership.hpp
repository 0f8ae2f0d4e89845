// Which objects belong to a ctbench run (the suite) and which to a user of ctbench-runtime.
//
// `ctbench run` puts its identity into the environment (kOwnerEnv) before it makes anything;
// every container state, network, endpoint and volume the runtime creates under it (in-process
// or through a ctbench-runtime child, which inherits the variable) records that owner at
// creation. Cleanup (`ctbench run`, `ctbench doctor --cleanup`) then removes what carries an
// owner, and leaves what does not (a user's `ctbench-runtime run -d` container, network,
// volume) alone. Why a recorded marker rather than run-scoped roots: the network store, the
// netns pins, the volumes and the nft table are shared by every user of the engine, so a root
// per run could not tell a run's endpoint from a user's; a field in the record each object
// already has costs no extra write on the start path.
#pragma once

#include <cstdlib>
#include <string>

namespace ctb {

inline constexpr const char* kOwnerEnv = "CTBENCH_RUN_OWNER";
// Where it is recorded: this field of state.json; `owner` of a network or endpoint record
// (runtime/network/store.cpp); a file of this name in a volume's directory.
inline constexpr const char* kOwnerField = "ctbenchOwner";

// "" when no ctbench run is the creator (the object is a user's).
inline std::string current_owner() {
    const char* v = std::getenv(kOwnerEnv);
    return v ? v : "";
}

}  // namespace ctb

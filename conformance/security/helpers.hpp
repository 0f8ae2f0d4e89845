// Shared by the security (and volume) conformance cases: extra image layers with setuid binaries,
// several probes in one container, and capability masks as /proc/self/status prints them.
// (Scratch dirs, container handles and the agent path are the kit's: conformance/harness/kit.hpp.)
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "conformance/harness/kit.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::conformance::sec {

// Copies the image's file `image_path` (e.g. "usr/bin/ctbench-agent") to `dest`, owned by
// uid:gid with `mode` (chmod after chown, since chown clears the setuid bit).
Status copy_from_image(const std::string& image_path, const std::string& dest, mode_t mode, uid_t uid = 0,
                       gid_t gid = 0);
// An image layer below scratch/<name> holding kSetuidAgent: a copy of the (static) agent owned by
// root with mode 4755, so that `agent setuid-exec kSetuidAgent info` shows what exec of a
// setuid-root program grants. Returns the layer directory (for RunRequest::extra_layers).
inline constexpr const char* kSetuidAgent = "/usr/local/bin/ctbench-suid";
Result<std::string> setuid_agent_layer(const ScratchDir& scratch, const std::string& name = "suid-layer");
// Writes `content` to `dest` (creating parent dirs) owned by uid:gid with `mode`.
Status write_owned_file(const std::string& dest, const std::string& content, mode_t mode, uid_t uid, gid_t gid);

// One command of a batch and what came back: exit status, stdout+stderr text, and the last
// JSON document of the output (the agent prints one; an empty object otherwise).
struct Probe {
    std::string name;
    std::vector<std::string> argv;
};
struct ProbeResult {
    std::string name;
    int status = -1;
    std::string output;
    nlohmann::json doc = nlohmann::json::object();

    // The agent's errno_name ("EPERM") or "" when it reported success / nothing.
    std::string errno_name() const;
    bool ok() const { return status == 0; }
    nlohmann::json evidence() const;
};

// `ctbench-agent args...` exec'd inside a running container: its JSON, or what went wrong as
// evidence ({"ok": false, ...}) when it printed none.
nlohmann::json agent_inside(RunningContainer& c, std::vector<std::string> args);

// Runs the probes one after the other inside ONE container (through /bin/sh -c of the image), so a
// case costs one container start however many things it checks. The spec's process.args is
// replaced; everything else (user, capabilities, seccomp, mounts) applies to every probe.
Result<std::vector<ProbeResult>> run_probes(Runtime& rt, spec::Spec spec, const std::vector<Probe>& probes,
                                            std::vector<std::string> extra_layers = {});
// The same for a whole request (its layers and timeout kept; process.args replaced).
Result<std::vector<ProbeResult>> run_probes(Runtime& rt, RunRequest request, const std::vector<Probe>& probes);
// The same, as one `exec` into a running container.
Result<std::vector<ProbeResult>> exec_probes(RunningContainer& container, const std::vector<Probe>& probes);
const ProbeResult* find(const std::vector<ProbeResult>& results, const std::string& name);
// When a probe could not even start (the shell's "Permission denied" for the program or for
// /dev/null, e.g. a non-root user who cannot traverse the rootfs): a failure reason quoting the
// shell; "" otherwise.
std::string could_not_run(const std::vector<ProbeResult>& results);

// Capability names ("CAP_SYS_ADMIN") as the bit mask of /proc/<pid>/status.
Result<std::uint64_t> capability_mask(const std::vector<std::string>& names);
// "00000000a80425fb" (as the agent's info reports it); nullopt-like ~0 when it is not a hex string.
std::uint64_t parse_mask(const nlohmann::json& hex);
std::string mask_hex(std::uint64_t mask);
// Adds `cap` to bounding, effective and permitted (idempotent).
void grant_capability(spec::Spec& spec, const std::string& cap);

}  // namespace ctb::conformance::sec

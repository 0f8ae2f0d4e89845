// OCI config.json <-> ctb::spec::Spec. Parsing validates as it goes: every type or value error is a
// ctb::Error with step "parse config.json", the JSON path of the field as object and what was
// expected as detail, e.g.
//   parse config.json linux.resources.memory.limit: expected integer, got "abc"
// Unknown fields are ignored, as the runtime spec requires.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace ctb::spec {

// Supported ociVersion range: 1.0.0 up to any 1.3.x (pre-releases of 1.0.0 are older than 1.0.0).
inline constexpr const char* kMinOciVersion = "1.0.0";
inline constexpr const char* kMaxOciVersion = "1.3.x";

Result<Spec> parse_spec(const nlohmann::json& config);
// Reads <bundle_dir>/config.json; a JSON syntax error names the file, line and column.
Result<Spec> load_spec(const std::string& bundle_dir);
// The same for a config.json under another name (a container's saved copy in its state dir).
Result<Spec> load_spec_file(const std::string& path);
// The same for a config.json the caller has read (`path` names it in errors).
Result<Spec> parse_spec_text(const std::string& text, const std::string& path);

// A lone process object, as `runc exec --process process.json` takes it. Errors have step
// "parse process.json" and paths relative to the object ("args: must not be empty").
Result<Process> parse_process(const nlohmann::json& process);
Result<Process> load_process(const std::string& path);

// A lone linux.resources object, as `runc update -r resources.json` takes it. Errors have step
// "parse resources.json" and paths relative to the object ("memory.limit: expected integer").
Result<Resources> parse_resources(const nlohmann::json& resources);
Result<Resources> load_resources(const std::string& path);

// The inverse of parse_spec: a config.json that runc and crun accept, so that every runtime under
// test runs the same spec. parse_spec(to_json(s)) == s.
nlohmann::json to_json(const Spec& spec);

// What `runc spec` writes, adjusted for ctbench (see default_spec.cpp): busybox `sh`, Docker's
// default capabilities, the usual /proc /dev /sys mounts, masked and read-only paths.
Spec default_spec();

// Every name parse_spec accepts, in kernel order (capabilities) or spec order (namespaces).
std::vector<std::string> all_capability_names();
std::vector<std::string> all_namespace_types();
std::vector<std::string> all_rlimit_names();

}  // namespace ctb::spec

// OCI CLI adapter (runc, crun, any runc-compatible binary): being written; see adapter.hpp.
#include "conformance/harness/adapter_internal.hpp"

namespace ctb::conformance {

Result<std::unique_ptr<Runtime>> make_oci_cli_runtime(const std::string& name_or_path) {
    return fail(plain_error("--runtime", name_or_path, "OCI CLI adapter not available in this build"));
}

}  // namespace ctb::conformance

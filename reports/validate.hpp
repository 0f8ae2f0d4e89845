// The structural check a report document passes before the model reads it, so that a truncated or
// hand-edited file is refused with the JSON path of the first problem (RFC 6901 pointer) instead
// of a bare "key not found". It checks what the readers rely on; the JSON Schema stays the full
// contract (reports/schema/report.schema.json).
#pragma once

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace ctb::report {

// Error: step "read report", object "at /benchmarks/2/samples/0", detail what is wrong.
Status check_report_document(const nlohmann::json& doc);

}  // namespace ctb::report

// libbpf's own messages, captured instead of printed: probes turn them into Feature details and
// the tracer into error text, so `ctbench doctor` and reports stay clean.
#pragma once

#include <bpf/libbpf.h>

#include <string>
#include <vector>

#include "common/error.hpp"

namespace ctb::bpf {

// Scoped: while alive, libbpf's log of this thread goes into text(); the printer installed
// before is restored afterwards (nested captures hand the log back to the enclosing one).
class LibbpfCapture {
public:
    LibbpfCapture();
    ~LibbpfCapture();
    LibbpfCapture(const LibbpfCapture&) = delete;
    LibbpfCapture& operator=(const LibbpfCapture&) = delete;
    const std::string& text() const { return text_; }
    // The last `max` bytes: where the verifier says why a load failed.
    std::string tail(std::size_t max = 600) const { return text_.substr(text_.size() > max ? text_.size() - max : 0); }

private:
    libbpf_print_fn_t previous_;
    std::string* outer_sink_;
    std::string text_;
};

// Every tracer's hooks exist as tp_btf and as raw_tp programs; the one to load is the kind
// `ctbench doctor` found attachable (tp_btf preferred). Fails, naming `tracer`, when neither is.
Result<std::string> choose_program_kind(const std::vector<std::string>& attachable, const std::string& tracer);

}  // namespace ctb::bpf

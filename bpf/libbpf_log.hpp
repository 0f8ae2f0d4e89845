// libbpf's own messages, captured instead of printed: probes turn them into Feature details and
// the tracer into error text, so `ctbench doctor` and reports stay clean.
#pragma once

#include <bpf/libbpf.h>

#include <string>

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

private:
    libbpf_print_fn_t previous_;
    std::string* outer_sink_;
    std::string text_;
};

}  // namespace ctb::bpf

#include "bpf/libbpf_log.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace ctb::bpf {
namespace {

// libbpf's print callback is process-global; the log goes to the sink of the thread that is
// capturing.
thread_local std::string* libbpf_sink = nullptr;

int capture_libbpf(enum libbpf_print_level, const char* format, va_list args) {
    if (libbpf_sink == nullptr) return 0;
    char line[1024];
    std::vsnprintf(line, sizeof line, format, args);
    *libbpf_sink += line;
    return 0;
}

}  // namespace

LibbpfCapture::LibbpfCapture() : previous_(libbpf_set_print(capture_libbpf)), outer_sink_(libbpf_sink) {
    libbpf_sink = &text_;
}

LibbpfCapture::~LibbpfCapture() {
    libbpf_sink = outer_sink_;
    libbpf_set_print(previous_);
}

Result<std::string> choose_program_kind(const std::vector<std::string>& attachable, const std::string& tracer) {
    for (const char* kind : {"tp_btf", "raw_tp"})
        if (std::find(attachable.begin(), attachable.end(), kind) != attachable.end()) return std::string(kind);
    return fail(plain_error("choose program kind", tracer, "neither tp_btf nor raw_tp programs attach on this host"));
}

}  // namespace ctb::bpf

#include "benches/veth/same_cpu.hpp"

#include <cerrno>
#include <filesystem>
#include <string>

namespace ctb::bench::veth {

std::optional<int> SameCpu::choose() {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    if (::sched_getaffinity(0, sizeof mask, &mask) != 0) return std::nullopt;
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; --cpu)
        if (CPU_ISSET(cpu, &mask)) return cpu;
    return std::nullopt;
}

Status SameCpu::pin_thread(pid_t tid, int cpu) {
    cpu_set_t old, one;
    CPU_ZERO(&old);
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (::sched_getaffinity(tid, sizeof old, &old) != 0 || ::sched_setaffinity(tid, sizeof one, &one) != 0) {
        if (errno == ESRCH && tid != 0) return {};  // the thread ended meanwhile
        return fail(sys_error("pin to CPU " + std::to_string(cpu), tid == 0 ? "the bench" : "thread " + std::to_string(tid)));
    }
    saved_.emplace_back(tid, old);
    return {};
}

Result<std::unique_ptr<SameCpu>> SameCpu::pin(int cpu, const std::vector<pid_t>& pids) {
    std::unique_ptr<SameCpu> p(new SameCpu());
    for (pid_t pid : pids) {
        if (pid <= 0) return fail(plain_error("pin to CPU " + std::to_string(cpu), "server", "not running"));
        std::error_code ec;
        for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
            if (auto s = p->pin_thread(static_cast<pid_t>(std::stol(task.path().filename())), cpu); !s)
                return fail(s.error());
        if (ec) return fail(sys_error("list threads of", std::to_string(pid), ec.value()));
    }
    if (auto s = p->pin_thread(0, cpu); !s) return fail(s.error());
    return p;
}

SameCpu::~SameCpu() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) ::sched_setaffinity(it->first, sizeof it->second, &it->second);
}

}  // namespace ctb::bench::veth

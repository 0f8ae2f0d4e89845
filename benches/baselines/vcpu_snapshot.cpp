#include "benches/baselines/vcpu_snapshot.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>

#include "common/deadline.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/files.hpp"
#include "common/unix_socket.hpp"

namespace ctb::vm {
namespace {

constexpr const char* kPrompt = "(qemu) ";
constexpr std::uint64_t kMaxSymbolOffset = 1 << 20;

// qemu makes the socket while it starts: a boot stopped very early may not have it yet, so a
// missing or not yet listening socket is tried again until the deadline.
Result<UniqueFd> connect_unix(const std::string& path, const Deadline& deadline) {
    auto addr = unix_socket_address(path);
    if (!addr) return fail(plain_error("connect", path, "path too long for a unix socket"));
    UniqueFd fd;
    int err = 0;
    // Done when connected (err 0) or failed for a reason waiting does not change.
    retry_until(deadline, [&] {
        fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        bool connected = fd && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0;
        err = connected ? 0 : errno;
        return connected || (err != ENOENT && err != ECONNREFUSED);
    });
    if (err != 0) return fail(sys_error("connect", path, err));
    return fd;
}

// Reads into `out` until it holds `count` monitor prompts, bounded by the deadline.
Status read_prompts(int fd, int count, const Deadline& deadline, std::string& out) {
    auto prompts = [&] {
        int n = 0;
        for (std::size_t at = out.find(kPrompt); at != std::string::npos; at = out.find(kPrompt, at + 1)) ++n;
        return n;
    };
    char buf[4096];
    while (prompts() < count) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.remaining()).count();
        if (left <= 0) return fail(plain_error("read", "qemu monitor", "no prompt in time"));
        pollfd pfd{fd, POLLIN, 0};
        int ready = ::poll(&pfd, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return fail(sys_error("poll", "qemu monitor"));
        if (ready == 0) continue;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(sys_error("read", "qemu monitor"));
        if (n == 0) return fail(plain_error("read", "qemu monitor", "closed"));
        out.append(buf, static_cast<std::size_t>(n));
    }
    return {};
}

Result<std::string> ask_registers(const std::string& socket_path, std::chrono::milliseconds timeout) {
    Deadline deadline(timeout);
    auto fd = connect_unix(socket_path, deadline);
    if (!fd) return fail(fd.error());
    std::string out;
    if (auto s = read_prompts(fd->get(), 1, deadline, out); !s) return fail(s.error());  // the banner
    const std::string command = "info registers -a\n";
    if (::write(fd->get(), command.data(), command.size()) != static_cast<ssize_t>(command.size()))
        return fail(sys_error("write", "qemu monitor"));
    if (auto s = read_prompts(fd->get(), 2, deadline, out); !s) return fail(s.error());
    return out;
}

std::uint64_t hex_after(const std::string& line, const std::string& key, bool& found) {
    std::size_t at = line.find(key);
    found = at != std::string::npos;
    if (!found) return 0;
    return std::strtoull(line.c_str() + at + key.size(), nullptr, 16);
}

}  // namespace

std::vector<std::string> monitor_args(const std::string& socket_path) {
    return {"-monitor", "unix:" + socket_path + ",server=on,wait=off"};
}

std::vector<VcpuState> parse_info_registers(const std::string& text) {
    std::vector<VcpuState> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("CPU#")) {
            out.push_back(VcpuState{.cpu = std::atoi(line.c_str() + 4)});
            continue;
        }
        bool rip_found = false, hlt_found = false;
        std::uint64_t rip = hex_after(line, "RIP=", rip_found);
        if (!rip_found || out.empty()) continue;
        out.back().rip = rip;
        out.back().halted = hex_after(line, "HLT=", hlt_found) == 1 && hlt_found;
    }
    return out;
}

std::string symbolize(std::uint64_t rip, const std::string& system_map_text) {
    // "ffffffff81000000 T _stext": the text symbol nearest below rip (the map is sorted, but
    // one pass keeping the best candidate does not depend on it).
    std::uint64_t best = 0;
    std::string name;
    std::istringstream in(system_map_text);
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string addr_text, type, symbol, extra;
        if (!(fields >> addr_text >> type >> symbol) || (fields >> extra)) continue;  // not "addr type name"
        if (type != "t" && type != "T" && type != "w" && type != "W") continue;
        std::uint64_t addr = std::strtoull(addr_text.c_str(), nullptr, 16);
        if (addr <= rip && addr >= best) {
            best = addr;
            name = symbol;
        }
    }
    if (name.empty() || rip - best > kMaxSymbolOffset) return "";
    return fmt::format("{}+{:#x}", name, rip - best);
}

std::string describe(const std::vector<VcpuState>& vcpus, const std::string& system_map_text) {
    std::string text;
    for (const auto& v : vcpus) {
        std::string where = system_map_text.empty() ? "" : symbolize(v.rip, system_map_text);
        if (where.empty()) where = fmt::format("{:#x}", v.rip);
        text += fmt::format("{}CPU#{} {} {}", text.empty() ? "" : ", ", v.cpu, v.halted ? "halted in" : "in", where);
    }
    return text;
}

std::string vcpu_snapshot(const std::string& socket_path, const std::string& system_map,
                          std::chrono::milliseconds timeout) {
    auto answer = ask_registers(socket_path, timeout);
    if (!answer) return "no monitor answer: " + answer.error().message();
    auto vcpus = parse_info_registers(*answer);
    if (vcpus.empty()) return "no vCPU in the monitor's answer";
    std::string map_text;
    if (!system_map.empty())
        if (auto m = read_file(system_map)) map_text = std::move(*m);
    return describe(vcpus, map_text);
}

std::string system_map_for(const std::string& kernel) {
    auto path = std::filesystem::path(kernel);
    std::string name = path.filename().string();
    if (!name.starts_with("vmlinuz-")) return "";
    auto map = path.parent_path() / ("System.map-" + name.substr(8));
    std::error_code ec;
    return std::filesystem::is_regular_file(map, ec) ? map.string() : "";
}

}  // namespace ctb::vm

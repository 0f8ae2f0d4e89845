// Runs the built ctbench-agent (path in $CTBENCH_AGENT) on the host and checks its JSON contract.
// Timing is never asserted: rates only have to be positive.
#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/subprocess.hpp"
#include "common/tests/errno_filter.hpp"

using nlohmann::json;

namespace {

std::string agent_path() {
    const char* p = std::getenv("CTBENCH_AGENT");
    return p ? p : "ctbench-agent";
}

// The agent started with its stdout on a pipe (stderr stays on the test's stderr); `before_exec`
// runs in the child first (e.g. to install a seccomp filter).
class Agent {
public:
    explicit Agent(const std::vector<std::string>& args, void (*before_exec)() = nullptr) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
        std::vector<std::string> argv{agent_path()};
        argv.insert(argv.end(), args.begin(), args.end());
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(fds[1], 1);
            if (before_exec) before_exec();
            std::vector<char*> cargv;
            for (auto& a : argv) cargv.push_back(a.data());
            cargv.push_back(nullptr);
            ::execv(cargv[0], cargv.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        out_ = fds[0];
    }
    Agent(const Agent&) = delete;
    Agent& operator=(const Agent&) = delete;
    ~Agent() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(out_);
    }

    pid_t pid() const { return pid_; }

    // One line of stdout, or "" at EOF or after the timeout.
    std::string read_line(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            using std::chrono::duration_cast, std::chrono::milliseconds;
            auto left = duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
            pollfd p{out_, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
            char buf[4096];
            ssize_t n = ::read(out_, buf, sizeof buf);
            if (n <= 0) return std::exchange(buffer_, "");
            buffer_.append(buf, static_cast<std::size_t>(n));
        }
    }

    // Exit code, or 128+signal.
    int wait() {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
    bool reaped_ = false;
    std::string buffer_;
};

struct Outcome {
    json doc;
    int exit_code;
};

// Runs a command that prints one JSON document and exits.
Outcome run_json(const std::vector<std::string>& args, void (*before_exec)() = nullptr) {
    Agent agent(args, before_exec);
    std::string line = agent.read_line();
    int code = agent.wait();
    return {json::parse(line), code};
}

std::uint16_t listening_port(Agent& server) {
    json doc = json::parse(server.read_line());
    return doc.at("listening").get<std::uint16_t>();
}

bool has_ipv6_loopback() {
    std::ifstream in("/proc/net/if_inet6");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.find("00000000000000000000000000000001") != std::string::npos;
}

}  // namespace

TEST(Agent, IsStaticallyLinked) {
    std::ifstream in(agent_path(), std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GE(bytes.size(), sizeof(Elf64_Ehdr));
    const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(bytes.data());
    ASSERT_EQ(std::string(reinterpret_cast<const char*>(eh->e_ident), 4), std::string(ELFMAG, 4));
    ASSERT_EQ(eh->e_ident[EI_CLASS], ELFCLASS64);
    ASSERT_LE(eh->e_phoff + std::size_t{eh->e_phnum} * sizeof(Elf64_Phdr), bytes.size());
    // No program interpreter: the kernel runs it without a dynamic loader in the rootfs.
    for (int i = 0; i < eh->e_phnum; ++i) {
        const auto* ph = reinterpret_cast<const Elf64_Phdr*>(bytes.data() + eh->e_phoff + i * sizeof(Elf64_Phdr));
        EXPECT_NE(ph->p_type, static_cast<Elf64_Word>(PT_INTERP));
    }
}

TEST(Agent, InfoMatchesReality) {
    Agent agent({"info"});
    json doc = json::parse(agent.read_line());
    ASSERT_EQ(agent.wait(), 0);
    EXPECT_EQ(doc["pid"], agent.pid());
    EXPECT_EQ(doc["ppid"], ::getpid());
    EXPECT_EQ(doc["uid"]["real"], ::getuid());
    EXPECT_EQ(doc["uid"]["effective"], ::geteuid());
    EXPECT_EQ(doc["gid"]["real"], ::getgid());
    EXPECT_TRUE(doc["errors"].is_array());
    EXPECT_TRUE(doc["capabilities"].contains("effective"));
    EXPECT_TRUE(doc["mounts"].is_array());
    EXPECT_TRUE(doc["interfaces"].is_array());
    EXPECT_TRUE(doc["rlimits"].contains("RLIMIT_NOFILE"));
}

TEST(Agent, NamespaceInodesMatchOurs) {
    json ns = run_json({"info"}).doc["namespaces"];
    int compared = 0;
    for (auto& [name, inode] : ns.items()) {
        struct stat st{};
        if (::stat(("/proc/self/ns/" + name).c_str(), &st) != 0) continue;  // kernel lacks it
        ASSERT_FALSE(inode.is_null()) << name;
        EXPECT_EQ(inode.get<unsigned long long>(), st.st_ino) << name;
        ++compared;
    }
    EXPECT_GE(compared, 7);
}

TEST(Agent, ForkCreatesAndReaps) {
    auto r = run_json({"fork", "3"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.doc["requested"], 3);
    EXPECT_EQ(r.doc["created"], 3);
    EXPECT_TRUE(r.doc["first_error"].is_null());
}

TEST(Agent, TcpEchoRoundTrip) {
    Agent server({"tcp-echo-server", "0", "--bind", "127.0.0.1"});
    auto port = std::to_string(listening_port(server));
    for (const char* msg : {"hello", "again"}) {
        auto r = run_json({"tcp-client", "127.0.0.1", port, msg});
        EXPECT_EQ(r.exit_code, 0);
        EXPECT_EQ(r.doc["ok"], true);
        EXPECT_EQ(r.doc["reply"], msg);
    }
}

TEST(Agent, UdpEchoRoundTrip) {
    Agent server({"udp-echo-server", "0", "--bind", "127.0.0.1"});
    auto r = run_json({"udp-client", "127.0.0.1", std::to_string(listening_port(server)), "ping"});
    EXPECT_EQ(r.doc["ok"], true);
    EXPECT_EQ(r.doc["reply"], "ping");
}

TEST(Agent, Ipv6EchoRoundTrip) {
    if (!has_ipv6_loopback()) GTEST_SKIP() << "no ::1 on this host";
    Agent tcp({"tcp-echo-server", "0", "--bind", "::1", "--once"});
    auto r = run_json({"tcp-client", "::1", std::to_string(listening_port(tcp)), "six"});
    EXPECT_EQ(r.doc["reply"], "six");
    EXPECT_EQ(tcp.wait(), 0);  // --once: exits after one connection
    Agent udp({"udp-echo-server", "0", "--bind", "[::1]"});
    EXPECT_EQ(run_json({"udp-client", "::1", std::to_string(listening_port(udp)), "six"}).doc["reply"], "six");
}

TEST(Agent, ClientReportsRefusal) {
    // Find a closed port: bind a server, read its port, stop it.
    std::string port;
    {
        Agent server({"tcp-echo-server", "0", "--bind", "127.0.0.1"});
        port = std::to_string(listening_port(server));
    }
    auto r = run_json({"tcp-client", "127.0.0.1", port, "x", "--timeout", "2000"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.doc["ok"], false);
    EXPECT_EQ(r.doc["error"], "ECONNREFUSED");
}

TEST(Agent, TcpStreamMovesBytes) {
    Agent server({"tcp-stream-server", "0", "--bind", "127.0.0.1", "--once"});
    auto port = std::to_string(listening_port(server));
    auto r = run_json({"tcp-stream-client", "127.0.0.1", port, "0.2"});
    EXPECT_EQ(r.doc["ok"], true);
    EXPECT_GT(r.doc["bytes"].get<double>(), 0);
    json seen = json::parse(server.read_line());
    EXPECT_EQ(seen["bytes"], r.doc["bytes"]);
}

// The network workload engine: each mode against one server, figures positive, counts consistent.
TEST(Agent, NetbenchModesAgainstOneServer) {
    Agent server({"netbench-server", "0", "--bind", "127.0.0.1"});
    auto port = std::to_string(listening_port(server));
    auto stream = run_json({"netbench-client", "tcp_stream", "127.0.0.1", port, "--bytes", "10000000"});
    ASSERT_EQ(stream.exit_code, 0) << stream.doc.dump();
    EXPECT_EQ(stream.doc["bytes"], 10000000);  // the server's count of what arrived
    EXPECT_GT(stream.doc["mbit_per_s"].get<double>(), 0);
    auto udp = run_json({"netbench-client", "udp_stream", "127.0.0.1", port, "--seconds", "0.2", "--size", "1000"});
    ASSERT_EQ(udp.exit_code, 0) << udp.doc.dump();
    EXPECT_GT(udp.doc["received"].get<long>(), 0);
    EXPECT_EQ(udp.doc["sent"].get<long>() - udp.doc["received"].get<long>(), udp.doc["lost"].get<long>());
    EXPECT_GT(udp.doc["mbit_per_s"].get<double>(), 0);
    auto rr = run_json({"netbench-client", "tcp_rr", "127.0.0.1", port, "--requests", "2000"});
    ASSERT_EQ(rr.exit_code, 0) << rr.doc.dump();
    EXPECT_EQ(rr.doc["requests"], 2000);
    EXPECT_GT(rr.doc["median_us"].get<double>(), 0);
    EXPECT_LE(rr.doc["median_us"].get<double>(), rr.doc["p99_us"].get<double>());
    EXPECT_LE(rr.doc["p99_us"].get<double>(), rr.doc["p999_us"].get<double>());
}

TEST(Agent, NetbenchBadInputNamesTheArgument) {
    Agent bad_mode({"netbench-client", "tcp_sideways", "127.0.0.1", "1"});
    EXPECT_EQ(bad_mode.wait(), 2);
    Agent bad_size({"netbench-client", "udp_stream", "127.0.0.1", "1", "--size", "0"});
    EXPECT_EQ(bad_size.wait(), 2);
    // Nobody listens on port 1: a failure with JSON, not a hang or a zero.
    auto refused = run_json({"netbench-client", "tcp_rr", "127.0.0.1", "1", "--seconds", "0.1"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_EQ(refused.doc["ok"], false);
}

TEST(Agent, FileioGivesPositiveRatesAndRemovesFile) {
    std::string path = ::testing::TempDir() + "ctbench-agent-fileio-" + std::to_string(::getpid());
    auto r = run_json({"fileio", path, "4", "--block", "256"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.doc["verified"], true);
    EXPECT_GT(r.doc["write_mib_per_s"].get<double>(), 0);
    EXPECT_GT(r.doc["read_mib_per_s"].get<double>(), 0);
    EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

// iobench: every data workload gives positive MiB/s with the mode it really used, and its file is
// removed; buffered reads record the page-cache state they asked for.
TEST(Agent, IobenchDataWorkloads) {
    std::string path = ::testing::TempDir() + "ctbench-agent-iobench-" + std::to_string(::getpid());
    for (const char* w : {"seqread", "seqwrite", "randread", "randwrite"}) {
        for (const char* mode : {"direct", "buffered"}) {
            auto r = run_json({"iobench", w, path, "--size", "2", "--reps", "2", "--ops", "16", "--mode", mode});
            ASSERT_EQ(r.exit_code, 0) << w << " " << mode << ": " << r.doc.dump();
            ASSERT_EQ(r.doc["samples"].size(), 2u) << w;
            for (const auto& v : r.doc["samples"]) EXPECT_GT(v.get<double>(), 0) << w;
            // O_DIRECT may be refused (tmpfs TempDir): then the reason is given, never silence.
            if (r.doc["mode"] == "buffered" && std::string(mode) == "direct") {
                EXPECT_FALSE(r.doc["direct_refused"].get<std::string>().empty()) << w;
            }
            EXPECT_NE(::access(path.c_str(), F_OK), 0) << w << " left its file";
        }
    }
    // Random passes visit each block at most once, as fio's random map: 512 transfers on a 2 MiB
    // file (512 blocks) visit all 512 (drawing with replacement would visit about 324); more
    // transfers than blocks start a new permutation. Every pass reports its time in seconds.
    for (auto [ops, distinct] : {std::pair{"16", 16}, std::pair{"512", 512}, std::pair{"700", 512}}) {
        auto r = run_json({"iobench", "randread", path, "--size", "2", "--reps", "2", "--ops", ops, "--mode", "buffered"});
        ASSERT_EQ(r.exit_code, 0) << r.doc.dump();
        ASSERT_EQ(r.doc["distinct_blocks"].size(), 2u) << r.doc.dump();
        for (const auto& d : r.doc["distinct_blocks"]) EXPECT_EQ(d.get<int>(), distinct) << ops;
        ASSERT_EQ(r.doc["seconds"].size(), 2u);
        for (const auto& v : r.doc["seconds"]) EXPECT_GT(v.get<double>(), 0);
        EXPECT_EQ(r.doc["bytes_per_sample"].get<std::uint64_t>(), std::stoull(ops) * 4096);
    }
    auto warm = run_json({"iobench", "seqread", path, "--size", "2", "--reps", "1", "--mode", "buffered", "--cache", "warm"});
    EXPECT_EQ(warm.doc["cache"], "warm");
    EXPECT_DOUBLE_EQ(warm.doc["cached_fraction_before"][0].get<double>(), 1.0);
}

TEST(Agent, IobenchMetaCopyupLookup) {
    std::string dir = ::testing::TempDir() + "ctbench-agent-iometa-" + std::to_string(::getpid());
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    auto meta = run_json({"iobench", "meta", dir, "--files", "50", "--reps", "2"});
    ASSERT_EQ(meta.exit_code, 0) << meta.doc.dump();
    for (const char* op : {"create", "stat", "open_close", "readdir", "rename", "unlink"}) {
        ASSERT_EQ(meta.doc["ops"][op].size(), 2u) << op;
        EXPECT_GT(meta.doc["ops"][op][0].get<double>(), 0) << op;
    }
    for (int i = 0; i < 2; ++i) {
        std::ofstream(dir + "/f" + std::to_string(i)) << std::string(8192, 'x');
        std::ofstream(dir + "/s0-" + std::to_string(i)) << "";
    }
    auto up = run_json({"iobench", "copyup", dir, "--count", "2", "--op", "chmod"});
    ASSERT_EQ(up.exit_code, 0) << up.doc.dump();
    EXPECT_EQ(up.doc["samples"].size(), 2u);
    EXPECT_GT(up.doc["read_after_mib_per_s"][1].get<double>(), 0);
    auto lookup = run_json({"iobench", "lookup", dir, "--files", "2", "--reps", "1"});
    ASSERT_EQ(lookup.exit_code, 0) << lookup.doc.dump();
    EXPECT_GT(lookup.doc["samples"][0].get<double>(), 0);
    auto missing = run_json({"iobench", "lookup", dir, "--files", "3", "--reps", "1"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_EQ(missing.doc["errno_name"], "ENOENT");
    std::filesystem::remove_all(dir);
}

TEST(Agent, IobenchBadInputNamesTheArgument) {
    for (auto [args, word] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"iobench", "bogus", "/tmp/x"}, "bogus"},
             {{"iobench", "seqread", "/tmp/x", "--mode", "fast"}, "--mode"},
             {{"iobench", "seqread", "/tmp/x", "--size", "0"}, "--size"},
             {{"iobench", "copyup", "/tmp", "--op", "rm"}, "--op"}}) {
        auto r = ctb::run_process([&] { auto v = std::vector<std::string>{agent_path()}; v.insert(v.end(), args.begin(), args.end()); return v; }());
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->exit_code, 2) << r->output;
        EXPECT_NE(r->output.find(word), std::string::npos) << r->output;
    }
}

TEST(Agent, OpenMissingFileGivesEnoent) {
    auto r = run_json({"open", "/nonexistent"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.doc["ok"], false);
    EXPECT_EQ(r.doc["errno_name"], "ENOENT");
}

TEST(Agent, WriteThenCat) {
    std::string path = ::testing::TempDir() + "ctbench-agent-cat-" + std::to_string(::getpid());
    EXPECT_EQ(run_json({"write", path, "--", "--text"}).doc["ok"], true);
    auto r = run_json({"cat", path});
    EXPECT_EQ(r.doc["content"], "--text");
    ::unlink(path.c_str());
}

TEST(Agent, AllocAndCount) {
    auto alloc = run_json({"alloc", "8", "--step", "4"});
    EXPECT_EQ(alloc.doc["allocated_mib"], 8);
    Agent count({"count", "0.25"});
    int samples = 0;
    for (std::string line; !(line = count.read_line()).empty(); ++samples)
        EXPECT_TRUE(json::parse(line).contains("count"));
    EXPECT_EQ(count.wait(), 0);
    EXPECT_GE(samples, 1);
}

TEST(Agent, ExitCodePropagates) { EXPECT_EQ(run_json({"exit", "7"}).exit_code, 7); }

TEST(Agent, UnknownCommandExits2NamingIt) {
    auto r = ctb::run_process({agent_path(), "no-such-command"});
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->exit_code, 2);
    EXPECT_NE(r->output.find("no-such-command"), std::string::npos) << r->output;
}

TEST(Agent, BadArgumentExits2) {
    auto r = ctb::run_process({agent_path(), "fork", "many"});
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->exit_code, 2);
    EXPECT_NE(r->output.find("many"), std::string::npos) << r->output;
}

TEST(Agent, HelpListsCommands) {
    auto r = ctb::run_process({agent_path(), "--help"});
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->exit_code, 0);
    for (const char* cmd : {"info", "alloc", "fork", "tcp-echo-server", "fileio", "setuid-exec", "syscall-probe", "clone3"})
        EXPECT_NE(r->output.find(cmd), std::string::npos) << cmd;
}

// --- syscall-probe: the shape of its answer on the host, and its errno under a filter ---

TEST(Agent, SyscallProbesThatAlwaysWork) {
    for (const char* name : {"fork", "thread", "socket-inet", "socket-unix", "personality-linux32", "personality-query",
                             "personality-bad"}) {
        auto r = run_json({"syscall-probe", name});
        EXPECT_EQ(r.exit_code, 0) << name << ": " << r.doc.dump();
        EXPECT_EQ(r.doc["ok"], true) << name;
        EXPECT_EQ(r.doc["probe"], name);
        EXPECT_TRUE(r.doc["syscall"].is_string()) << name;
        EXPECT_TRUE(r.doc["errno_name"].is_null()) << name;
    }
    // The child of a raw clone exits 0 and is reaped by the probe.
    EXPECT_EQ(run_json({"syscall-probe", "fork"}).doc["child_exit"], 0);
}

TEST(Agent, SyscallProbesReportWhateverTheKernelSays) {
    // Results depend on privileges and kernel config (keyrings, vsock): only the contract is checked.
    for (const char* name : {"clone3", "clone-newuts", "keyctl", "add_key", "request_key", "socket-vsock"}) {
        auto r = run_json({"syscall-probe", name});
        ASSERT_TRUE(r.doc["ok"].is_boolean()) << name << ": " << r.doc.dump();
        EXPECT_EQ(r.exit_code, r.doc["ok"] == true ? 0 : 1) << name;
        EXPECT_EQ(r.doc["errno_name"].is_string(), r.doc["ok"] == false) << name;
    }
    // No key of that name exists and no callout is given: the kernel says ENOKEY (or keyrings are off).
    auto missing = run_json({"syscall-probe", "request_key"});
    EXPECT_EQ(missing.doc["ok"], false);
    if (::getuid() == 0) {
        EXPECT_EQ(run_json({"syscall-probe", "clone-newuts"}).doc["ok"], true);
    }
}

TEST(Agent, SyscallProbeUnknownNameExits2ListingNames) {
    auto r = ctb::run_process({agent_path(), "syscall-probe", "no-such-probe"});
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->exit_code, 2);
    EXPECT_NE(r->output.find("no-such-probe"), std::string::npos) << r->output;
    EXPECT_NE(r->output.find("clone3"), std::string::npos) << r->output;
}

#if defined(__x86_64__) && defined(__NR_clone3)
namespace {

// clone3 answered with ENOSYS (as the default profile does), everything else allowed;
// no_new_privs lets an unprivileged test install the filter.
void deny_clone3_with_enosys() {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || !ctbtest::answer_syscall_with(__NR_clone3, ENOSYS))
        ::_exit(126);
}

}  // namespace

TEST(Agent, SyscallProbeSeesTheFiltersErrnoAndLibcFallsBack) {
    auto clone3 = run_json({"syscall-probe", "clone3"}, deny_clone3_with_enosys);
    EXPECT_EQ(clone3.exit_code, 1) << clone3.doc.dump();
    EXPECT_EQ(clone3.doc["errno_name"], "ENOSYS");
    // glibc's pthread_create retries with clone(2) on ENOSYS: why the profile picks that errno.
    auto thread = run_json({"syscall-probe", "thread"}, deny_clone3_with_enosys);
    EXPECT_EQ(thread.exit_code, 0) << thread.doc.dump();
    EXPECT_EQ(run_json({"syscall-probe", "fork"}, deny_clone3_with_enosys).doc["ok"], true);
}
#endif

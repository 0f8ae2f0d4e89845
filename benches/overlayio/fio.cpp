#include "benches/overlayio/fio.hpp"

#include <unistd.h>

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/subprocess.hpp"

namespace ctb::bench::overlayio {

std::vector<std::string> fio_argv(const std::string& fio, const FioJob& job) {
    std::vector<std::string> argv{fio, "--name=ctbench-fidelity", "--filename=" + job.path, "--rw=" + job.rw,
                                  fmt::format("--bs={}", job.block_bytes), fmt::format("--size={}", job.file_bytes),
                                  fmt::format("--direct={}", job.direct ? 1 : 0), "--ioengine=psync", "--iodepth=1",
                                  "--numjobs=1", "--randrepeat=1", "--output-format=json"};
    if (job.number_ios > 0) argv.push_back(fmt::format("--number_ios={}", job.number_ios));
    // Writes are durable before fio stops its clock, as in the engine (fsync before the end).
    // The engine overwrites a file it laid out first (no block allocation in the figure): fio's
    // overwrite=1 does the same.
    if (job.rw.find("write") != std::string::npos) {
        argv.push_back("--end_fsync=1");
        argv.push_back("--overwrite=1");
    }
    return argv;
}

Result<FioFigures> parse_fio_json(const std::string& text, const std::string& rw) {
    // fio prints notes ("fio: ...") before the document on some versions: start at the first '{'.
    auto start = text.find('{');
    if (start == std::string::npos) return fail(plain_error("parse fio output", rw, "no JSON document"));
    auto j = nlohmann::json::parse(text.substr(start), nullptr, false);
    if (j.is_discarded()) return fail(plain_error("parse fio output", rw, "invalid JSON"));
    const std::string dir = rw.find("write") != std::string::npos ? "write" : "read";
    try {
        FioFigures f;
        f.version = j.at("fio version").get<std::string>();
        const auto& jobs = j.at("jobs");
        if (jobs.empty()) return fail(plain_error("parse fio output", rw, "no jobs"));
        const auto& d = jobs.at(0).at(dir);
        f.mib_per_s = d.at("bw_bytes").get<double>() / double(1 << 20);
        f.iops = d.at("iops").get<double>();
        f.runtime_ms = d.value("runtime", 0.0);
        f.io_bytes = d.value("io_bytes", 0.0);
        const auto& clat = d.at("clat_ns");
        f.clat_mean_us = clat.at("mean").get<double>() / 1e3;
        if (clat.contains("percentile")) {
            const auto& pct = clat["percentile"];
            if (pct.contains("50.000000")) f.clat_p50_us = pct["50.000000"].get<double>() / 1e3;
            if (pct.contains("99.000000")) f.clat_p99_us = pct["99.000000"].get<double>() / 1e3;
        }
        if (f.mib_per_s <= 0) return fail(plain_error("parse fio output", rw, "fio measured no " + dir + " bandwidth"));
        return f;
    } catch (const nlohmann::json::exception& e) {
        return fail(plain_error("parse fio output", rw, std::string("missing field: ") + e.what()));
    }
}

double mib_per_s_at_fio_resolution(double bytes, double seconds) {
    double ms = std::ceil(seconds * 1e3 - 1e-9);  // a pass of exactly 25.000 ms stays 25
    return ms > 0 ? bytes / double(1 << 20) / (ms / 1e3) : 0.0;
}

Result<FioFigures> run_fio(const FioJob& job) {
    auto fio = find_executable("fio");
    if (!fio) return fail(plain_error("find", "fio", "not installed (apt-get install fio): no fidelity check"));
    RunOptions o;
    o.timeout = std::chrono::minutes(5);
    auto r = run_process(fio_argv(*fio, job), o);
    ::unlink(job.path.c_str());
    if (!r) return fail(r.error());
    if (!r->exited_ok())
        return fail(plain_error("fio", job.rw + " " + job.path,
                                fmt::format("exit {}: {}", r->exit_code, r->output.substr(0, 400))));
    return parse_fio_json(r->output, job.rw);
}

}  // namespace ctb::bench::overlayio

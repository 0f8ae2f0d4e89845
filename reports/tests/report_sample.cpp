// Writes the sample report and its host probe as JSON, for the schema checks (meson test *_schema).
#include <fstream>
#include <iostream>

#include "reports/tests/sample.hpp"
#include "reports/writers.hpp"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: report_sample REPORT.json HOST.json\n";
        return 2;
    }
    auto report = ctb::report::samples::sample_report();
    std::ofstream(argv[1]) << ctb::report::render_json(report);
    std::ofstream(argv[2]) << nlohmann::json(report.run.host).dump(2) << "\n";
    return 0;
}

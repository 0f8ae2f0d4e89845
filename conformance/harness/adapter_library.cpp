// The built-in runtime as a conformance adapter: the container library, in-process.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fmt/format.h>

#include "common/deadline.hpp"
#include "conformance/harness/adapter.hpp"
#include "conformance/harness/adapter_internal.hpp"
#include "runtime/container/container.hpp"
#include "runtime/image/image.hpp"
#include "runtime/spec/parse.hpp"

namespace ctb::conformance {
namespace {

constexpr const char* kStateRoot = "/run/ctbench/conformance/ctbench";

Result<container::CreateOptions> create_options(const RunRequest& r, const std::string& id) {
    auto image = image::ensure_default_image();
    if (!image) return fail(image.error());
    container::CreateOptions o;
    o.id = id;
    o.bundle = "/";
    o.spec = r.spec;
    o.state_root = kStateRoot;
    o.image_layers = r.extra_layers;
    o.image_layers.push_back(*image);
    return o;
}

class LibraryContainer : public RunningContainer {
public:
    LibraryContainer(container::Container c, CapturedOutput out) : c_(std::move(c)), out_(std::move(out)) {}
    ~LibraryContainer() override { (void)container::delete_container(kStateRoot, c_.id(), true); }
    std::string id() const override { return c_.id(); }
    pid_t pid() const override { return c_.pid(); }
    Result<RunOutput> exec(const std::vector<std::string>& args) override {
        auto spec = spec::load_spec(container::state_dir(kStateRoot, c_.id()));
        if (!spec) return fail(spec.error());
        spec::Process p = spec->process;
        p.args = args;
        auto capture = CapturedOutput::begin();
        if (!capture) return fail(capture.error());
        auto status = container::exec(kStateRoot, c_.id(), p);
        RunOutput out = capture->finish();
        if (!status) return fail(status.error());
        out.status = *status;
        return out;
    }
    Status kill(int signal) override { return c_.kill(signal); }
    Result<RunOutput> wait(std::chrono::milliseconds timeout) override {
        auto status = reaper_.wait(timeout);
        RunOutput out = out_.snapshot();
        if (status) out.status = *status;
        return out;
    }

private:
    container::Container c_;
    CapturedOutput out_;
    InitReaper reaper_{c_.pid()};
};

class LibraryRuntime : public Runtime {
public:
    ~LibraryRuntime() override {
        ::rmdir(kStateRoot);  // only when empty: the last container took its state with it
        ::rmdir("/run/ctbench/conformance");
    }
    std::string name() const override { return "ctbench"; }

    Result<RunOutput> run(const RunRequest& r) override {
        auto started = start(r);
        if (!started) return fail(started.error());
        auto out = (*started)->wait(r.timeout);
        if (!out) return out;
        if (out->status == -1) return fail(plain_error("run container", (*started)->id(), "did not exit within the timeout"));
        return out;
    }

    Result<std::unique_ptr<RunningContainer>> start(const RunRequest& r) override {
        auto o = create_options(r, unique_id());
        if (!o) return fail(o.error());
        // The container inherits stdout/stderr at create: point them at memory files first.
        auto capture = CapturedOutput::begin();
        if (!capture) return fail(capture.error());
        auto c = container::Container::create(*o);
        capture->restore_stdio();
        if (!c) return fail(c.error());
        if (auto s = c->start(); !s) {
            (void)container::delete_container(kStateRoot, o->id, true);
            return fail(s.error());
        }
        return std::unique_ptr<RunningContainer>(new LibraryContainer(std::move(*c), std::move(*capture)));
    }
};

}  // namespace

std::unique_ptr<Runtime> make_library_runtime() { return std::make_unique<LibraryRuntime>(); }

}  // namespace ctb::conformance

// make_command_experiment end to end: one task of a real program, every way it can end.
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/command/command.hpp>
#include <mpisweep/experiments/command/json.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace mpisweep;
using namespace mpisweep::command;
namespace fs = std::filesystem;

namespace {

// The script as a template argument: its braces doubled, so only "{x}" is a placeholder.
CommandSpec spec_for(const std::string& script) {
  std::string literal;
  for (char c : script) literal += c == '{' ? "{{" : c == '}' ? "}}" : std::string(1, c);
  CommandSpec s;
  s.run = {"/bin/sh", "-c", literal, "task", "{x}"};
  s.metrics = {{"loss", "", ""}};
  s.series = {SeriesSpec{"curve"}};
  ParamSpec x{"x", ParamType::real, 0.5};
  s.params = {x};
  return s;
}

Params with_x(double x) {
  Params p;
  p.set("x", x);
  return p;
}

RunContext context(std::uint64_t seed = 11) {
  RunContext c;
  c.seed = seed;
  c.task_id = 0x1234;
  c.threads = 3;
  return c;
}

std::string failure(const CommandSpec& s) {
  try {
    make_command_experiment(s).run(with_x(0.5), context());
  } catch (const task_cancelled&) {
    return "cancelled";
  } catch (const mpisweep::error& e) {
    return e.what();
  }
  return "done";
}

}  // namespace

TEST(CommandExperiment, ResultThroughTheResultFile) {
  // The metric is computed by the program from its argument and seed: loss = x * seed.
  const auto s = spec_for(
      "printf '{\"metrics\": {\"loss\": %s}, \"series\": {\"curve\": [1, 2]}}' "
      "$(awk \"BEGIN { print $1 * $MPISWEEP_SEED }\") > \"$MPISWEEP_RESULT\"; "
      "echo noise");
  const Result r = make_command_experiment(s).run(with_x(0.5), context());
  EXPECT_DOUBLE_EQ(r.metrics.at("loss"), 0.5 * 11);
  EXPECT_EQ(r.series.at("curve"), (std::vector<double>{1, 2}));
}

TEST(CommandExperiment, ResultAsTheLastLineOfStdout) {
  const auto s = spec_for("echo progress; echo '{\"metrics\": {\"loss\": '$1'}}'; echo");
  const Result r = make_command_experiment(s).run(with_x(0.25), context());
  EXPECT_EQ(r.metrics.at("loss"), 0.25);
  EXPECT_EQ(r.series.count("curve"), 0u);
}

TEST(CommandExperiment, HandsOverParametersAndEnvironment) {
  const fs::path out = fs::temp_directory_path() / ("mpisweep-env-" + std::to_string(getpid()));
  auto s = spec_for("cat > " + out.string() + ".stdin; env > " + out.string() +
                    ".env; echo '{\"metrics\": {\"loss\": 1}}'");
  s.env = {{"MY_SETTING", "x={x} seed={seed}"}};
  setenv("OMPI_COMM_WORLD_RANK", "5", 1);  // this job's identity must not reach the program
  make_command_experiment(s).run(with_x(0.5), context());
  unsetenv("OMPI_COMM_WORLD_RANK");
  std::ifstream in(out.string() + ".stdin");
  const std::string stdin_text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(parse_json(stdin_text).object().at("x").number(), 0.5);
  std::ifstream ein(out.string() + ".env");
  const std::string env((std::istreambuf_iterator<char>(ein)), {});
  EXPECT_NE(env.find("MPISWEEP_PARAMS={\"x\": 0.5}\n"), std::string::npos) << env;
  EXPECT_NE(env.find("MPISWEEP_SEED=11\n"), std::string::npos);
  EXPECT_NE(env.find("MPISWEEP_TASK_ID=0000000000001234\n"), std::string::npos);
  EXPECT_NE(env.find("MPISWEEP_THREADS=3\n"), std::string::npos);
  EXPECT_NE(env.find("OMP_NUM_THREADS=3\n"), std::string::npos);
  EXPECT_NE(env.find("MPISWEEP_RESULT=/"), std::string::npos);
  EXPECT_NE(env.find("MY_SETTING=x=0.5 seed=11\n"), std::string::npos);
  EXPECT_EQ(env.find("OMPI_COMM_WORLD_RANK"), std::string::npos);
  fs::remove(out.string() + ".stdin");
  fs::remove(out.string() + ".env");
}

TEST(CommandExperiment, WorkdirIsCreatedFresh) {
  const fs::path base = fs::temp_directory_path() / ("mpisweep-wd-" + std::to_string(getpid()));
  // loss = the entries the program finds in its working folder; then it leaves a marker there.
  auto s = spec_for("n=$(ls -A | wc -l); touch marker; echo '{\"metrics\": {\"loss\": '$n'}}'");
  s.workdir = (base / "{task_id}").string();
  const fs::path dir = base / "0000000000001234";
  fs::create_directories(dir);
  std::ofstream(dir / "stale") << "from an earlier attempt";
  const Result r = make_command_experiment(s).run(with_x(0.5), context());
  EXPECT_EQ(r.metrics.at("loss"), 0.0);  // "stale" was removed before the program started
  EXPECT_TRUE(fs::exists(dir / "marker"));
  EXPECT_FALSE(fs::exists(dir / "stale"));
  fs::remove_all(base);
}

TEST(CommandExperiment, EveryFailureIsOneLineWithStderr) {
  EXPECT_EQ(failure(spec_for("echo oops >&2; echo bad input >&2; exit 3")),
            "exit status 3; stderr: oops | bad input");
  EXPECT_EQ(failure(spec_for("kill -KILL $$")), "killed by SIGKILL");
  EXPECT_EQ(failure(spec_for("echo '{\"metrics\": {\"loss\": 1' > $MPISWEEP_RESULT")),
            "result file: expected ',' or '}' at offset 23");
  EXPECT_EQ(failure(spec_for("echo '{\"metrics\": {}}'")),
            "stdout's last line: missing metric 'loss' in the result");
  EXPECT_EQ(failure(spec_for("echo '{\"metrics\": {\"loss\": \"low\"}}'")),
            "stdout's last line: metric 'loss' is not a number");
  EXPECT_EQ(failure(spec_for("echo '{\"metrics\": {\"loss\": 1, \"acc\": 2}}'")),
            "stdout's last line: undeclared metric 'acc' in the result");
  EXPECT_EQ(failure(spec_for("echo done")),
            "stdout's last line: unexpected character 'd' at offset 0");
  EXPECT_EQ(failure(spec_for("exit 0")),
            "no result: nothing in $MPISWEEP_RESULT and no JSON object as the last line of stdout");
  auto missing = spec_for("");
  missing.run = {"/no/such/program"};
  EXPECT_NE(failure(missing).find("cannot start '/no/such/program'"), std::string::npos);
}

TEST(CommandExperiment, CancelThrowsTaskCancelled) {
  auto s = spec_for("sleep 30");
  s.kill_grace = 0.2;
  std::atomic<bool> cancel{false};
  RunContext c = context();
  c.cancel_flag = &cancel;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(make_command_experiment(s).run(with_x(0.5), c), task_cancelled);
  t.join();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
}

// Templates, the parameter JSON, the result checks and the wire form of a CommandSpec.
#include <mpisweep/core/error.hpp>
#include <mpisweep/core/params.hpp>
#include <mpisweep/experiments/command/command.hpp>
#include <mpisweep/experiments/command/json.hpp>

#include <gtest/gtest.h>

#include <cmath>

using namespace mpisweep;
using namespace mpisweep::command;

namespace {

Params sample_params() {
  Params p;
  p.set("lr", 0.001);
  p.set("depth", std::int64_t{3});
  p.set("norm", true);
  p.set("opt", std::string("adam \"w\""));
  return p;
}

CommandSpec sample_spec() {
  CommandSpec s;
  s.run = {"./sim", "--lr", "{lr}"};
  s.metrics = {{"loss", "", ""}, {"acc", "test accuracy", "%"}};
  s.series = {SeriesSpec{"curve"}};
  return s;
}

}  // namespace

TEST(CommandTemplate, FindsPlaceholdersAndEscapes) {
  EXPECT_EQ(placeholders("--lr={lr}/{seed}"), (std::vector<std::string>{"lr", "seed"}));
  EXPECT_EQ(placeholders("{{literal}} {x}"), (std::vector<std::string>{"x"}));
  EXPECT_THROW(placeholders("{open"), mpisweep::error);
  EXPECT_THROW(placeholders("close}"), mpisweep::error);
}

TEST(CommandTemplate, ExpandsValuesInHumanForm) {
  const Params p = sample_params();
  const Expansion x{&p, 7, 0x00ab00000000cd01ULL, 4};
  EXPECT_EQ(expand("{lr}|{depth}|{norm}|{opt}", x), "0.001|3|true|adam \"w\"");
  EXPECT_EQ(expand("runs/{task_id}/s{seed}-t{threads}", x), "runs/00ab00000000cd01/s7-t4");
  EXPECT_EQ(expand("{{lr}}={lr}", x), "{lr}=0.001");
  EXPECT_THROW(expand("{nope}", x), mpisweep::error);
  EXPECT_EQ(task_id_hex(1), "0000000000000001");
}

TEST(CommandTemplate, ParamsJsonIsTypedAndSorted) {
  const std::string j = params_json(sample_params());
  EXPECT_EQ(j, R"({"depth": 3, "lr": 0.001, "norm": true, "opt": "adam \"w\""})");
  // A whole real stays a real for the program (1.0, not 1).
  Params p;
  p.set("x", 1.0);
  EXPECT_EQ(params_json(p), R"({"x": 1.0})");
  EXPECT_EQ(parse_json(j).object().at("lr").number(), 0.001);
}

TEST(CommandResult, AcceptsAValidResult) {
  const Result r = parse_result(
      R"({"metrics": {"loss": 0.25, "acc": NaN}, "series": {"curve": [1, 2, 3]}})", sample_spec());
  EXPECT_EQ(r.metrics.at("loss"), 0.25);
  EXPECT_TRUE(std::isnan(r.metrics.at("acc")));
  EXPECT_EQ(r.series.at("curve"), (std::vector<double>{1, 2, 3}));
  // A series may be absent (stored with length 0).
  EXPECT_NO_THROW(parse_result(R"({"metrics": {"loss": 1, "acc": 2}})", sample_spec()));
}

TEST(CommandResult, RejectsWhatDoesNotMatchTheDeclaration) {
  const auto spec = sample_spec();
  auto reason = [&](const std::string& text) {
    try {
      parse_result(text, spec);
    } catch (const mpisweep::error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(reason(R"({"metrics": {"loss": 1}})"), "missing metric 'acc' in the result");
  EXPECT_EQ(reason(R"({"metrics": {"loss": 1, "acc": 2, "lr": 3}})"),
            "undeclared metric 'lr' in the result");
  EXPECT_EQ(reason(R"({"metrics": {"loss": "1", "acc": 2}})"), "metric 'loss' is not a number");
  EXPECT_EQ(reason(R"({"metrics": {"loss": null, "acc": 2}})"), "metric 'loss' is not a number");
  EXPECT_EQ(reason(R"({"metrics": {"loss": 1, "acc": 2}, "series": {"other": []}})"),
            "undeclared series 'other' in the result");
  EXPECT_EQ(reason(R"({"metrics": {"loss": 1, "acc": 2}, "series": {"curve": [1, "x"]}})"),
            "series 'curve' holds a value that is not a number");
  EXPECT_EQ(reason(R"({"metrics": {"loss": 1, "acc": 2}, "extra": 1})"),
            "unexpected key \"extra\" in the result; expected metrics and series");
  EXPECT_EQ(reason("[1, 2]"), "the result is not a JSON object");
  EXPECT_NE(reason(R"({"metrics": {"loss": 1, "acc": 2})"), "accepted");
}

TEST(CommandSpecWire, RoundTripsEverything) {
  CommandSpec s = sample_spec();
  s.workdir = "runs/{task_id}";
  s.env = {{"MODE", "fast {lr}"}};
  s.kill_grace = 0.5;
  ParamSpec big{"big", ParamType::integer, std::int64_t{9007199254740993}};  // 2^53 + 1
  ParamSpec lr{"lr", ParamType::real, 0.1};
  ParamSpec on{"on", ParamType::boolean, true};
  ParamSpec opt{"opt", ParamType::choice, std::string("sgd")};
  opt.choices = {"sgd", "adam"};
  s.params = {big, lr, on, opt};
  // A series' storage travels: workers encode its chunks as the master's archive stores them.
  s.series.at(0).storage = {SeriesStorage::Compression::deflate, 6, true};
  const CommandSpec t = from_wire(to_wire(s));
  ASSERT_EQ(t.series.size(), s.series.size());
  EXPECT_EQ(t.series[0].storage.compression, SeriesStorage::Compression::deflate);
  EXPECT_EQ(t.series[0].storage.level, 6);
  EXPECT_TRUE(t.series[0].storage.float32);
  EXPECT_EQ(t.run, s.run);
  EXPECT_EQ(t.workdir, s.workdir);
  EXPECT_EQ(t.env, s.env);
  EXPECT_EQ(t.kill_grace, 0.5);
  ASSERT_EQ(t.metrics.size(), 2u);
  EXPECT_EQ(t.metrics[1].name, "acc");
  EXPECT_EQ(t.metrics[1].unit, "%");
  EXPECT_EQ(t.metrics[1].help, "test accuracy");
  ASSERT_EQ(t.params.size(), 4u);
  EXPECT_EQ(std::get<std::int64_t>(t.params[0].default_value), 9007199254740993);
  EXPECT_EQ(std::get<double>(t.params[1].default_value), 0.1);
  EXPECT_EQ(std::get<bool>(t.params[2].default_value), true);
  EXPECT_EQ(t.params[3].type, ParamType::choice);
  EXPECT_EQ(t.params[3].choices, opt.choices);
  EXPECT_EQ(identity(t), identity(s));
}

TEST(CommandSpecIdentity, ChangesWithWhatDecidesResultsOnly) {
  const CommandSpec a = sample_spec();
  CommandSpec b = a;
  b.run.push_back("--fast");
  EXPECT_NE(identity(a), identity(b));
  b = a;
  b.metrics[0].unit = "nats";  // cosmetic: same tasks
  b.workdir = "elsewhere/{task_id}";
  EXPECT_EQ(identity(a), identity(b));
  b.env = {{"X", "1"}};
  EXPECT_NE(identity(a), identity(b));
}

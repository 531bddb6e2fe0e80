// moe_cl as the backbone sees it: the registered schema, parameter checks that name the
// parameter, and a run through Experiment::run.
#include <mpisweep/experiments/moe_cl/moe_cl.hpp>
#include <mpisweep/experiments/registry.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace mpisweep {
namespace {

const Experiment& kind() { return find_experiment("moe_cl"); }

Params with(std::initializer_list<std::pair<const char*, Value>> items) {
  Params p;
  for (const auto& [k, v] : items) p.set(k, v);
  return p;
}

// Expects resolve (schema + cross checks) to reject `given`, naming `param`.
void expect_rejected(const Params& given, const std::string& param) {
  try {
    resolve_experiment_params(kind(), given);
    ADD_FAILURE() << "accepted; expected a complaint about " << param;
  } catch (const param_error& e) {
    EXPECT_EQ(e.param(), param) << e.what();
    EXPECT_NE(std::string(e.what()).find(param), std::string::npos) << e.what();
  }
}

TEST(MoeClParams, SchemaDeclaresEveryParameterWithDefaultsOfTheSpec) {
  std::set<std::string> names;
  for (const auto& p : kind().params) {
    names.insert(p.name);
    EXPECT_FALSE(p.help.empty()) << p.name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"d", "s", "clusters", "experts", "sigma", "beta", "eta",
                                          "alpha", "lambda", "T", "T1", "terminate", "termination",
                                          "Gamma", "aux_loss", "record_every"}));
  const Params p = resolve_experiment_params(kind(), Params{});
  const moe_cl::Config c = moe_cl::config_from_params(p);
  const moe_cl::Config spec;  // defaults of the spec, also the struct's
  EXPECT_EQ(c.d, 20);
  EXPECT_EQ(c.s, 10);
  EXPECT_EQ(c.clusters, 4);
  EXPECT_EQ(c.experts, 4);
  EXPECT_EQ(c.sigma, 0.02);
  EXPECT_EQ(c.beta, 1.0);
  EXPECT_EQ(c.eta, 10.0);
  EXPECT_EQ(c.alpha, 0.5);
  EXPECT_EQ(c.lambda, 0.3);
  EXPECT_EQ(c.T, 1000);
  EXPECT_EQ(c.T1, 200);
  EXPECT_TRUE(c.terminate);
  EXPECT_EQ(c.termination, moe_cl::Termination::paper);
  EXPECT_EQ(c.Gamma, 0.1);
  EXPECT_EQ(c.aux_loss, moe_cl::AuxLoss::averaged);
  EXPECT_EQ(c.record_every, 10);
  EXPECT_EQ(c.d, spec.d);
  EXPECT_EQ(c.eta, spec.eta);
  EXPECT_EQ(c.Gamma, spec.Gamma);
  EXPECT_EQ(c.termination, spec.termination);
}

TEST(MoeClParams, BadValuesAreRejectedNamingTheParameter) {
  expect_rejected(with({{"s", std::int64_t{20}}}), "s");                           // s = d
  expect_rejected(with({{"s", std::int64_t{30}}, {"d", std::int64_t{20}}}), "s");  // s > d
  expect_rejected(with({{"experts", std::int64_t{0}}}), "experts");
  expect_rejected(with({{"clusters", std::int64_t{0}}}), "clusters");
  expect_rejected(with({{"clusters", std::int64_t{21}}}), "clusters");  // > d
  expect_rejected(with({{"T1", std::int64_t{1001}}}), "T1");
  expect_rejected(
      with({{"T", std::int64_t{1}}, {"T1", std::int64_t{0}}, {"record_every", std::int64_t{1}}}),
      "T");
  expect_rejected(with({{"sigma", 0.0}}), "sigma");
  expect_rejected(with({{"beta", -1.0}}), "beta");
  expect_rejected(with({{"eta", -0.1}}), "eta");
  expect_rejected(with({{"lambda", -0.1}}), "lambda");
  expect_rejected(with({{"alpha", -1.0}}), "alpha");
  expect_rejected(with({{"Gamma", -0.1}}), "Gamma");
  expect_rejected(with({{"termination", std::string("early")}}), "termination");
  expect_rejected(with({{"aux_loss", std::string("sum")}}), "aux_loss");
  // T1 = 0 asks for ⌈experts/eta⌉ rounds: impossible with eta 0, too many for T.
  expect_rejected(with({{"T1", std::int64_t{0}}, {"eta", 0.0}}), "T1");
  expect_rejected(with({{"T1", std::int64_t{0}}, {"eta", 0.01}, {"experts", std::int64_t{16}}}),
                  "T1");
  expect_rejected(with({{"record_every", std::int64_t{0}}}), "record_every");
  expect_rejected(with({{"record_every", std::int64_t{2000}}}), "record_every");
  expect_rejected(with({{"T", std::int64_t{10000000}}}), "T");  // T·d too large to keep
  expect_rejected(with({{"experts", 2.5}}), "experts");
}

TEST(MoeClParams, RunReturnsExactlyTheDeclaredResults) {
  const Params p = resolve_experiment_params(kind(), with({{"experts", std::int64_t{3}},
                                                           {"T", std::int64_t{250}},
                                                           {"record_every", std::int64_t{25}}}));
  RunContext ctx;
  ctx.seed = 4;
  double last_progress = -1;
  ctx.on_progress = [&](double f) {
    EXPECT_GE(f, last_progress);
    last_progress = f;
  };
  const Result r = kind().run(p, ctx);
  EXPECT_EQ(last_progress, 1.0);
  std::set<std::string> metrics, series;
  for (const auto& m : kind().metrics) metrics.insert(m.name);
  for (const auto& s : kind().series) series.insert(s.name);
  EXPECT_EQ(metrics,
            (std::set<std::string>{"F_T", "G_T", "convergence_round", "gate_stop_round",
                                   "cluster_coverage", "expert_purity", "load_max_over_mean"}));
  EXPECT_EQ(series, (std::set<std::string>{"F_t", "G_t", "routing_counts"}));
  for (const auto& [name, v] : r.metrics) {
    EXPECT_TRUE(metrics.count(name)) << name;
    EXPECT_TRUE(std::isfinite(v)) << name;
  }
  EXPECT_EQ(r.metrics.size(), metrics.size());
  EXPECT_EQ(r.series.size(), series.size());
  EXPECT_EQ(r.series.at("F_t").size(), 10u);
  EXPECT_EQ(r.series.at("G_t").size(), 10u);
  EXPECT_EQ(r.series.at("routing_counts").size(), 4u * 3u);
  for (const auto& plot : kind().plots) {
    if (!plot.series.empty())
      EXPECT_TRUE(series.count(plot.series)) << plot.title;
    else
      EXPECT_TRUE(metrics.count(plot.y)) << plot.title;
  }
}

}  // namespace
}  // namespace mpisweep

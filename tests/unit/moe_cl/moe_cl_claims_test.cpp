// The paper's claims (Li et al., ICLR 2025; docs/experiments/moe_cl.md "The paper's claims"),
// at the defaults, which run the paper's termination rule and load term: means over 20 seeds,
// never a single seed (single seeds are bimodal).
#include <mpisweep/experiments/moe_cl/moe_cl.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace mpisweep::moe_cl {
namespace {

constexpr int seeds = 20;

struct Summary {
  double F = 0, G = 0;     // means over seeds
  double G_wiggle = 0;     // mean over seeds of sd_of_second_half(G_t)
  double convergence = 0;  // mean convergence_round
};

// Oscillation of a curve (the spec's measure): its standard deviation over its second half.
double sd_of_second_half(const std::vector<double>& v) {
  const std::size_t h = v.size() / 2;
  const auto n = static_cast<double>(v.size() - h);
  double mean = 0;
  for (std::size_t i = h; i < v.size(); ++i) mean += v[i] / n;
  double ss = 0;
  for (std::size_t i = h; i < v.size(); ++i) ss += (v[i] - mean) * (v[i] - mean);
  return std::sqrt(ss / n);
}

const Summary& summary(int experts, bool terminate) {
  static std::map<std::pair<int, bool>, Summary> cache;
  const auto key = std::make_pair(experts, terminate);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  Config c;  // the spec's defaults
  c.experts = experts;
  c.terminate = terminate;
  Summary s;
  for (int seed = 1; seed <= seeds; ++seed) {
    RunContext ctx;
    ctx.seed = static_cast<std::uint64_t>(seed);
    const Outcome o = simulate(c, ctx);
    s.F += o.F_T / seeds;
    s.G += o.G_T / seeds;
    s.G_wiggle += sd_of_second_half(o.G_t) / seeds;
    s.convergence += o.convergence_round / seeds;
  }
  std::printf(
      "[ moe_cl   ] M %2d terminate %d: mean F_T %.3f, G_T %.3f, sd G_t late %.4f, "
      "convergence_round %.1f\n",
      experts, terminate, s.F, s.G, s.G_wiggle, s.convergence);
  return cache.emplace(key, s).first->second;
}

// Claim 1: with M ≥ N experts the mixture generalises better and forgets less than one expert.
TEST(MoeClClaims, MixtureGeneralisesBetterAndForgetsLessThanOneExpert) {
  for (int M : {4, 16}) {
    EXPECT_LE(summary(M, true).G, 0.5 * summary(1, true).G) << "M " << M;
    EXPECT_LE(summary(M, true).F, 0.6 * summary(1, true).F) << "M " << M;
  }
}

// Claim 2: without termination the gate keeps moving: G_t oscillates and the cluster map never
// settles; with the paper's rule it settles soon after T1. (At M 16 the G_t curve's sd is only
// about 2x that of the terminated run, with a settled run's sd ~0.1 from the experts' own
// updates, so the map is the sharper witness there.)
TEST(MoeClClaims, WithoutTerminationTheErrorKeepsOscillating) {
  EXPECT_GE(summary(4, false).G_wiggle, 2.0 * summary(4, true).G_wiggle);
  EXPECT_GE(summary(16, false).G_wiggle, 1.5 * summary(16, true).G_wiggle);
  for (int M : {4, 16}) {
    EXPECT_GE(summary(M, false).convergence, 0.8 * 1000) << "M " << M;
    EXPECT_LE(summary(M, true).convergence, 0.35 * 1000) << "M " << M;
  }
}

// Claim 3 (second half): more experts than clusters do not improve the result much.
TEST(MoeClClaims, MoreExpertsDoNotHelpMuch) {
  EXPECT_GE(summary(16, true).G, 0.6 * summary(4, true).G);
}

}  // namespace
}  // namespace mpisweep::moe_cl

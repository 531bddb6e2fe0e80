// One experiment kind of your own: estimate pi by throwing points into the unit square and
// counting those inside the quarter disc. With n points the estimate 4 k / n is unbiased with
// standard deviation sqrt(pi (4 - pi) / n) (binomial k with p = pi / 4), so a sweep over n shows
// the 1/sqrt(n) convergence of Monte Carlo.
//
// The binary this builds is a whole mpisweep (run, status, show, plot, report, experiments,
// validate) that knows the kind "pi" beside the built-in ones.
#include <mpisweep/mpisweep.hpp>

#include <cmath>
#include <numbers>

namespace {

mpisweep::Experiment pi_experiment() {
  using namespace mpisweep;
  Experiment e;
  e.name = "pi";
  e.summary = "Monte Carlo estimate of pi from n uniform points in the unit square";
  e.params = {
      {.name = "n",
       .type = ParamType::integer,
       .default_value = std::int64_t{1000},
       .help = "number of points",
       .min = 1.0,
       .max = 1e9},
      {.name = "checkpoints",
       .type = ParamType::integer,
       .default_value = std::int64_t{10},
       .help = "points of the running estimate stored in the series 'running'",
       .min = 1.0,
       .max = 1e4},
  };
  e.metrics = {{.name = "estimate", .help = "4 * (points inside the quarter disc) / n"},
               {.name = "abs_error", .help = "|estimate - pi|"}};
  e.series = {
      {.name = "running", .help = "the estimate after each checkpoint", .axis = "checkpoint"}};
  e.plots = {
      {.title = "error against points", .x = "n", .y = "abs_error", .logx = true, .logy = true}};
  e.check = [](const Params& p) {
    if (p.get_int("checkpoints") > p.get_int("n"))
      throw param_error("checkpoints", "must not exceed n");
  };
  e.run = [](const Params& p, const RunContext& ctx) {
    const std::int64_t n = p.get_int("n"), checkpoints = p.get_int("checkpoints");
    Rng rng(ctx.seed);  // a task's numbers depend on its seed alone
    Result r;
    auto& running = r.series["running"];
    std::int64_t inside = 0;
    for (std::int64_t i = 1; i <= n; ++i) {
      const double x = rng.uniform(), y = rng.uniform();
      inside += x * x + y * y < 1.0;
      if (i * checkpoints % n < checkpoints) {  // i = ceil(j n / checkpoints), j = 1..checkpoints
        running.push_back(4.0 * double(inside) / double(i));
        ctx.throw_if_cancelled();
        ctx.progress(double(i) / double(n));
      }
    }
    r.metrics["estimate"] = 4.0 * double(inside) / double(n);
    r.metrics["abs_error"] = std::abs(r.metrics["estimate"] - std::numbers::pi);
    return r;
  };
  return e;
}

}  // namespace

int main(int argc, char** argv) { return mpisweep::main(argc, argv, {pi_experiment()}); }

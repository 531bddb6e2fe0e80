// The noop experiment (design.md "The noop experiment"): busy work, a payload series and a
// failure decided by the seed alone, for tests and benchmarks.
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/registry.hpp>

#include <chrono>

namespace mpisweep {

Experiment make_noop_experiment() {
  Experiment e;
  e.name = "noop";
  e.summary = "does nothing for a given time; for tests and benchmarks";
  e.params = {
      {.name = "work_us", .type = ParamType::integer, .default_value = std::int64_t{0},
       .help = "busy CPU work per task", .min = 0.0, .unit = "us"},
      {.name = "payload", .type = ParamType::integer, .default_value = std::int64_t{0},
       .help = "length of the float64 series 'payload' to store", .min = 0.0, .max = 1e8},
      {.name = "fail_rate", .type = ParamType::real, .default_value = 0.0,
       .help = "probability that the task throws, decided by its seed alone", .min = 0.0,
       .max = 1.0},
  };
  e.metrics = {{.name = "value", .help = "a uniform random number drawn from the task's seed"},
               {.name = "work_us", .help = "busy work done", .unit = "us"}};
  e.series = {{.name = "payload", .help = "uniform random numbers drawn from the seed",
               .axis = "index"}};
  e.plots = {{.title = "value against work", .x = "work_us", .y = "value"}};
  e.run = [](const Params& p, const RunContext& ctx) {
    if (Rng(ctx.seed, 1).uniform() < p.get_real("fail_rate"))
      throw error("noop: failed on purpose (fail_rate " + format_value(p.at("fail_rate")) + ")");
    const auto work = std::chrono::microseconds(p.get_int("work_us"));
    if (work.count() > 0) {
      const auto until = std::chrono::steady_clock::now() + work;
      while (std::chrono::steady_clock::now() < until) ctx.throw_if_cancelled();
    }
    Result r;
    r.metrics["value"] = Rng(ctx.seed).uniform();
    r.metrics["work_us"] = static_cast<double>(work.count());
    if (const auto n = p.get_int("payload"); n > 0) {
      Rng rng(ctx.seed, 2);
      auto& v = r.series["payload"];
      v.resize(static_cast<std::size_t>(n));
      for (auto& x : v) x = rng.uniform();
    }
    return r;
  };
  return e;
}

}  // namespace mpisweep

// The noop experiment (design.md "The noop experiment"): busy work, a payload series and a
// failure decided by the seed alone, for tests and benchmarks.
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/registry.hpp>

#include <time.h>

namespace mpisweep {

namespace {
double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
}  // namespace

Experiment make_noop_experiment() {
  Experiment e;
  e.name = "noop";
  e.summary = "does nothing for a given time; for tests and benchmarks";
  e.params = {
      {.name = "work_us",
       .type = ParamType::integer,
       .default_value = std::int64_t{0},
       .help = "busy CPU work per task",
       .min = 0.0,
       .unit = "us"},
      {.name = "payload",
       .type = ParamType::integer,
       .default_value = std::int64_t{0},
       .help = "length of the float64 series 'payload' to store",
       .min = 0.0,
       .max = 1e8},
      {.name = "fail_rate",
       .type = ParamType::real,
       .default_value = 0.0,
       .help = "probability that the task throws, decided by its seed alone",
       .min = 0.0,
       .max = 1.0},
  };
  e.metrics = {{.name = "value", .help = "a uniform random number drawn from the task's seed"},
               {.name = "work_us", .help = "busy work done", .unit = "us"}};
  e.series = {{.name = "payload",
               .help = "uniform random numbers drawn from the seed",
               .axis = "index",
               .length_param = "payload"}};
  e.plots = {{.title = "value against work", .x = "work_us", .y = "value"}};
  e.run = [](const Params& p, const RunContext& ctx) {
    if (Rng(ctx.seed, 1).uniform() < p.get_real("fail_rate"))
      throw error("noop: failed on purpose (fail_rate " + format_value(p.at("fail_rate")) + ")");
    // Busy work is measured in this thread's CPU time, not wall time, so a task is a fixed
    // amount of computation: anything else competing for the core makes it take longer.
    const std::int64_t work_us = p.get_int("work_us");
    if (work_us > 0) {
      const double start = thread_cpu_seconds(), span = double(work_us) * 1e-6;
      volatile double sink = 0;
      for (double now = start; now < start + span; now = thread_cpu_seconds()) {
        for (int i = 0; i < 1000; ++i) sink = sink + 1e-9 * i;
        ctx.throw_if_cancelled();
        ctx.progress((now - start) / span);
      }
    }
    Result r;
    r.metrics["value"] = Rng(ctx.seed).uniform();
    r.metrics["work_us"] = static_cast<double>(work_us);
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

#include <mpisweep/core/parallel.hpp>
#include <mpisweep/core/params.hpp>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/core/text.hpp>
#include <mpisweep/experiments/registry.hpp>

#include <gtest/gtest.h>

#include <time.h>

#include <chrono>
#include <cmath>
#include <numeric>

using namespace mpisweep;

TEST(Value, CanonicalFormIsExactAndTyped) {
  EXPECT_EQ(canonical_value(Value{0.1}), "r:3fb999999999999a");
  EXPECT_EQ(canonical_value(Value{-0.0}), canonical_value(Value{0.0}));
  EXPECT_NE(canonical_value(Value{std::int64_t{1}}), canonical_value(Value{1.0}));
  EXPECT_EQ(format_value(Value{0.1}), "0.1");
  EXPECT_EQ(format_value(Value{std::string("shear")}), "shear");
}

TEST(Params, ResolveFillsDefaultsPromotesAndChecks) {
  const std::vector<ParamSpec> schema = {
      {.name = "gamma",
       .type = ParamType::real,
       .default_value = 0.9,
       .min = 0.0,
       .max = 1.0,
       .min_open = true,
       .max_open = true},
      {.name = "n", .type = ParamType::integer, .default_value = std::int64_t{3}, .min = 1.0},
      {.name = "env",
       .type = ParamType::choice,
       .default_value = std::string("a"),
       .choices = {"a", "b"}},
  };
  Params given;
  given.set("gamma", std::int64_t{0});  // promoted, then out of the open range
  EXPECT_THROW(resolve_params(schema, given), param_error);
  given.set("gamma", 0.5);
  Params p = resolve_params(schema, given);
  EXPECT_EQ(p.get_real("gamma"), 0.5);
  EXPECT_EQ(p.get_int("n"), 3);
  EXPECT_EQ(p.get_string("env"), "a");

  given.set("bogus", true);
  try {
    resolve_params(schema, given);
    FAIL();
  } catch (const param_error& e) {
    EXPECT_EQ(e.param(), "bogus");
    EXPECT_NE(std::string(e.what()).find("gamma, n, env"), std::string::npos) << e.what();
  }
  Params wrong;
  wrong.set("env", std::string("c"));
  EXPECT_THROW(resolve_params(schema, wrong), param_error);
  wrong.set("env", 1.0);
  EXPECT_THROW(resolve_params(schema, wrong), param_error);
}

TEST(Rng, DeterministicAndRoughlyNormal) {
  Rng a(42), b(42);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next(), b.next());
  Rng r(7);
  const int n = 200000;
  double s = 0, s2 = 0;
  for (int i = 0; i < n; ++i) {
    double x = r.normal();
    s += x;
    s2 += x * x;
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);    // standard error 0.0022
  EXPECT_NEAR(s2 / n, 1.0, 0.015);  // standard error 0.0032
  EXPECT_NE(derive_seed(1, 0), derive_seed(1, 1));
  EXPECT_NE(derive_seed(1, 0), derive_seed(2, 0));
  for (int i = 0; i < 1000; ++i) EXPECT_LT(r.below(7), 7u);
}

TEST(ThreadPool, SameSumForAnyThreadCountAndPropagatesErrors) {
  std::vector<double> out(1000);
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    std::fill(out.begin(), out.end(), 0.0);
    pool.parallel_for(out.size(), [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) out[i] = std::sqrt(double(i));
    });
    double sum = std::accumulate(out.begin(), out.end(), 0.0);
    EXPECT_DOUBLE_EQ(sum, 21065.833110879048) << threads;
    EXPECT_THROW(pool.parallel_for(10,
                                   [](std::size_t, std::size_t e) {
                                     if (e == 10) throw std::runtime_error("x");
                                   }),
                 std::runtime_error);
  }
}

// Between parallel regions the workers must not keep cores busy: after a brief spin they
// block. One worker, 200 regions separated by 400 µs of serial work on the caller: the CPU
// time spent outside the caller's thread (the worker's; region bodies are empty) is its spin
// and wake-up, 15–20 µs a gap (3–4 ms), not polling through the gaps (the pool used to spin
// and yield for up to 200 µs a gap: 40 ms on a quiet machine; under load its yields hand the
// core to other processes, so there it measured 5–15 ms). The bound, 20 ms, leaves room for an
// AddressSanitizer build's slower wake-ups (~10 ms) and still fails the old pool on a quiet
// machine; a busy one cannot tell them apart.
TEST(ThreadPool, WorkersDoNotBurnCpuBetweenRegions) {
  auto cpu = [](clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  };
  ThreadPool pool(2);
  pool.parallel_for(2, [](std::size_t, std::size_t) {});  // worker started
  const double p0 = cpu(CLOCK_PROCESS_CPUTIME_ID), t0 = cpu(CLOCK_THREAD_CPUTIME_ID);
  for (int r = 0; r < 200; ++r) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(400);
    while (std::chrono::steady_clock::now() < until) {
    }
    pool.parallel_for(2, [](std::size_t, std::size_t) {});
  }
  const double worker = (cpu(CLOCK_PROCESS_CPUTIME_ID) - p0) - (cpu(CLOCK_THREAD_CPUTIME_ID) - t0);
  EXPECT_LT(worker, 0.02) << "seconds of CPU used by an idle worker over 80 ms of gaps";
}

// The work-span profile: a hand-made profile gives the closed form, and a 1-thread pool records
// its outermost regions (not the nested ones, not while off) under their item counts.
TEST(ThreadPool, RegionProfileRecordsOutermostRegionsAndBoundsByRounds) {
  const ThreadPool::RegionProfile made{{{4, 1.0}, {3, 3.0}}};
  EXPECT_DOUBLE_EQ(made.seconds(), 4.0);
  EXPECT_DOUBLE_EQ(made.seconds_on(2), 1.0 * 2 / 4 + 3.0 * 2 / 3);  // ⌈4/2⌉ = 2, ⌈3/2⌉ = 2 rounds
  EXPECT_DOUBLE_EQ(made.seconds_on(16), 1.0 / 4 + 3.0 / 3);         // one round each
  EXPECT_DOUBLE_EQ(made.seconds_on(1), 4.0);

  auto& prof = ThreadPool::region_profile();
  prof.by_items.clear();
  ThreadPool pool(1), inner(1);
  auto wait = [](int us) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
    while (std::chrono::steady_clock::now() < until) {
    }
  };
  pool.parallel_for(5, [&](std::size_t, std::size_t) { wait(2000); });  // off: not recorded
  EXPECT_TRUE(prof.by_items.empty());
  ThreadPool::profile_regions(true);
  pool.parallel_for(6, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i)
      inner.parallel_for(3, [&](std::size_t, std::size_t) { wait(500); });  // nested
  });
  pool.parallel_for(6, [&](std::size_t, std::size_t) { wait(1000); });
  ThreadPool::profile_regions(false);
  ASSERT_EQ(prof.by_items.size(), 1u) << "one entry, n = 6; the nested n = 3 is inside it";
  EXPECT_EQ(prof.by_items[0].first, 6u);
  EXPECT_GE(prof.by_items[0].second, 6 * 500e-6 + 1000e-6);
  prof.by_items.clear();
}

TEST(Noop, ValueDependsOnSeedOnlyAndFailuresAreSeeded) {
  const Experiment& e = find_experiment("noop");
  Params given;
  given.set("payload", std::int64_t{5});
  Params p = resolve_experiment_params(e, given);
  RunContext c1{.seed = 11, .threads = 1}, c2{.seed = 11, .threads = 4};
  Result a = e.run(p, c1), b = e.run(p, c2);
  EXPECT_EQ(a.metrics, b.metrics);
  EXPECT_EQ(a.series.at("payload").size(), 5u);
  int failures = 0;
  given.set("fail_rate", 0.3);
  Params pf = resolve_experiment_params(e, given);
  for (std::uint64_t s = 0; s < 1000; ++s) {
    try {
      e.run(pf, RunContext{.seed = s});
    } catch (const error&) {
      ++failures;
    }
  }
  EXPECT_NEAR(failures, 300, 60);
  EXPECT_THROW(find_experiment("nope"), input_error);
}

TEST(Text, JoinAndSplitAreInverse) {
  EXPECT_EQ(join({"a", "bc", ""}), "a, bc, ");
  EXPECT_EQ(join({}), "");
  EXPECT_EQ(join({"x", "y"}, ","), "x,y");
  EXPECT_EQ(split("a, bc, "), (std::vector<std::string>{"a", "bc", ""}));
  EXPECT_TRUE(split("").empty());
  EXPECT_EQ(split("one"), (std::vector<std::string>{"one"}));
}

TEST(Text, TimesAndDurations) {
  EXPECT_EQ(utc_iso_time(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(utc_iso_time(1795784709), "2026-11-27T13:05:09Z");
  EXPECT_EQ(local_time_text(1795784709).size(), 19u);
  EXPECT_EQ(format_duration(42.4), "42s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(7800), "2h10m");
  EXPECT_EQ(format_duration(-1), "?");
}

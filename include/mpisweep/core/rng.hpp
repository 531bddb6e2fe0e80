#pragma once
// Our own generator and distributions, so that a task's numbers depend on its seed alone and not
// on the standard library's unspecified distribution algorithms.
#include <cstdint>
#include <limits>
#include <string_view>

namespace mpisweep {

// SplitMix64 finalizer: a bijective 64-bit mix (Steele, Lea, Flood 2014).
std::uint64_t splitmix64(std::uint64_t x);

// FNV-1a, 64 bits (Fowler, Noll, Vo): a stable hash of bytes, continued from `h`.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t h = 0xcbf29ce484222325ULL);

// Seed of an independent stream `stream` derived from `seed`. Use one stream per unit of work
// (a state, a row, a round) rather than per thread, so results do not depend on thread count.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);

// xoshiro256** (Blackman & Vigna 2018), seeded through SplitMix64.
class Rng {
 public:
  using result_type = std::uint64_t;
  explicit Rng(std::uint64_t seed);
  Rng(std::uint64_t seed, std::uint64_t stream) : Rng(derive_seed(seed, stream)) {}

  std::uint64_t next();
  result_type operator()() { return next(); }
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  double uniform();                      // [0, 1), 53 random bits
  double uniform(double lo, double hi);  // [lo, hi)
  std::uint64_t below(std::uint64_t n);  // uniform integer in [0, n), unbiased
  double normal();                       // N(0, 1), Marsaglia polar method
  double normal(double mean, double sd) { return mean + sd * normal(); }

 private:
  std::uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace mpisweep

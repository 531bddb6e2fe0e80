// A task's identity (the design's task ids): a hash of the experiment and its parameter point,
// mixed with the seed, so that the same task has the same id whatever the sweep file's order,
// the rank count or the other points around it.
#include <mpisweep/core/params.hpp>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/sweep/spec.hpp>

#include <algorithm>

namespace mpisweep::sweep {

std::uint64_t point_hash(const std::string& experiment, const std::vector<std::string>& names,
                         const std::vector<Value>& values) {
  std::vector<std::size_t> order(names.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return names[a] < names[b]; });
  std::uint64_t h = fnv1a64(experiment);
  for (auto i : order) {
    h = fnv1a64(std::string_view("\0", 1), h);
    h = fnv1a64(names[i] + "=" + canonical_value(values[i]), h);
  }
  return h;
}

std::uint64_t task_id(std::uint64_t point_hash, std::uint64_t seed) {
  return splitmix64(point_hash ^ splitmix64(seed ^ 0x5eed5eed5eed5eedULL));
}

}  // namespace mpisweep::sweep

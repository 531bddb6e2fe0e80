#include <mpisweep/experiments/registry.hpp>

#include <algorithm>
#include <atomic>
#include <vector>

namespace mpisweep {

namespace {

// Kind names the sweep file gives a meaning of its own (design.md "Your own experiments":
// experiment = "command" runs a program), so no compiled-in kind may take them.
constexpr std::string_view reserved_names[] = {"command"};

bool is_identifier(std::string_view s) {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (s.empty() || !alpha(s.front())) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

struct Registry {
  std::vector<Experiment> kinds;
  // Set on the first lookup: from then on the spans handed out must stay valid.
  std::atomic<bool> frozen{false};

  Registry() {
    kinds.push_back(make_kinetic_closure_experiment());
    kinds.push_back(make_lowrank_q_experiment());
    kinds.push_back(make_moe_cl_experiment());
    kinds.push_back(make_noop_experiment());
    sort();
  }
  void sort() {
    std::sort(kinds.begin(), kinds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void register_experiments(std::vector<Experiment> kinds) {
  Registry& r = registry();
  if (r.frozen.load())
    throw internal_error("register_experiments called after a kind was looked up");
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    const Experiment& k = kinds[i];
    const std::string what = "your experiment kind '" + k.name + "'";
    if (!is_identifier(k.name))
      throw input_error("", what +
                                ": a kind's name must be an identifier "
                                "([A-Za-z_][A-Za-z0-9_]*)");
    if (!k.run) throw input_error("", what + " has no run function");
    for (auto reserved : reserved_names)
      if (k.name == reserved)
        throw input_error("", what + ": '" + k.name + "' is reserved by the sweep file; rename it");
    for (std::size_t j = 0; j < r.kinds.size(); ++j)
      if (r.kinds[j].name == k.name)
        throw input_error("", what + " clashes with a built-in kind of the same name; rename it");
    for (std::size_t j = 0; j < i; ++j)
      if (kinds[j].name == k.name) throw input_error("", what + " is given twice");
  }
  for (auto& k : kinds) r.kinds.push_back(std::move(k));
  r.sort();
}

std::span<const Experiment> experiments() {
  Registry& r = registry();
  r.frozen.store(true);
  return r.kinds;
}

const Experiment& find_experiment(std::string_view name) {
  std::string valid;
  for (const auto& e : experiments()) {
    if (e.name == name) return e;
    valid += (valid.empty() ? "" : ", ") + e.name;
  }
  // "command" is in no registry (each sweep file declares its own); say it exists.
  throw input_error("", "unknown experiment '" + std::string(name) + "'; registered kinds are: " +
                            valid + "; or \"command\" to run a program of your own ([command])");
}

Params resolve_experiment_params(const Experiment& e, const Params& given) {
  Params p = resolve_params(e.params, given);
  if (e.check) e.check(p);
  return p;
}

}  // namespace mpisweep

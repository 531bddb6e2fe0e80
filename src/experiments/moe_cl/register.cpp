// The moe_cl experiment kind: schema, checks and the adapter from Params to the simulation
// (../shared/specs/moe_cl.md). The numerics live in moe_cl.cpp.
#include <mpisweep/experiments/moe_cl/moe_cl.hpp>
#include <mpisweep/experiments/registry.hpp>

#include <string>

namespace mpisweep {

namespace {

// x̄_τ of every round is kept for G_t: T·d doubles. Cap the memory of one task at ~400 MB.
constexpr double max_rounds_times_dimension = 5e7;

void check_moe_cl(const Params& p) {
  const auto d = p.get_int("d"), s = p.get_int("s"), N = p.get_int("clusters");
  const auto T = p.get_int("T"), T1 = p.get_int("T1");
  if (s >= d)
    throw param_error("s", "must be < d (overparameterised tasks), got s = " + std::to_string(s) +
                               ", d = " + std::to_string(d));
  if (N > d)
    throw param_error("clusters",
                      "must be <= d (the feature signals are orthonormal in R^d), got " +
                          std::to_string(N) + " > d = " + std::to_string(d));
  if (T1 > T)
    throw param_error(
        "T1", "must be <= T, got T1 = " + std::to_string(T1) + ", T = " + std::to_string(T));
  if (T1 == 0) {
    const double eta = p.get_real("eta");
    const auto M = static_cast<double>(p.get_int("experts"));
    if (eta <= 0 || M / eta > static_cast<double>(T))
      throw param_error("T1",
                        "0 asks for ceil(experts/eta) rounds, which must be <= T; got "
                        "experts = " +
                            std::to_string(p.get_int("experts")) +
                            ", eta = " + format_value(Value{eta}) + ", T = " + std::to_string(T));
  }
  if (static_cast<double>(T) * static_cast<double>(d) > max_rounds_times_dimension)
    throw param_error("T", "T·d must be <= 5e7 (the run keeps one d-vector per round), got T = " +
                               std::to_string(T) + ", d = " + std::to_string(d));
  if (p.get_int("record_every") > T)
    throw param_error("record_every", "must be <= T, got " +
                                          std::to_string(p.get_int("record_every")) +
                                          " > T = " + std::to_string(T));
}

}  // namespace

Experiment make_moe_cl_experiment() {
  Experiment e;
  e.name = "moe_cl";
  e.summary =
      "mixture of linear experts with a noisy top-1 router learning a stream of "
      "regression tasks (Li et al., ICLR 2025)";
  using I = std::int64_t;
  e.params = {
      {.name = "d",
       .type = ParamType::integer,
       .default_value = I{20},
       .help = "dimension of the models and features",
       .min = 2.0,
       .max = 100000.0},
      {.name = "s",
       .type = ParamType::integer,
       .default_value = I{10},
       .help = "samples per task (columns of X_t); must be < d",
       .min = 1.0},
      {.name = "clusters",
       .type = ParamType::integer,
       .default_value = I{4},
       .help = "N: number of ground-truth models (task clusters); must be <= d",
       .min = 1.0},
      {.name = "experts",
       .type = ParamType::integer,
       .default_value = I{4},
       .help = "M: number of experts (1 = a single model, no routing)",
       .min = 1.0,
       .max = 4096.0},
      {.name = "sigma",
       .type = ParamType::real,
       .default_value = 0.02,
       .help = "standard deviation of the entries of the s-1 noise columns",
       .min = 0.0,
       .min_open = true},
      {.name = "beta",
       .type = ParamType::real,
       .default_value = 1.0,
       .help = "length of the signal column beta*v_n",
       .min = 0.0,
       .min_open = true},
      {.name = "eta",
       .type = ParamType::real,
       .default_value = 10.0,
       .help = "learning rate of the gate",
       .min = 0.0},
      {.name = "alpha",
       .type = ParamType::real,
       .default_value = 0.5,
       .help = "weight of the load-balancing term of the gate loss (form: aux_loss)",
       .min = 0.0},
      {.name = "lambda",
       .type = ParamType::real,
       .default_value = 0.3,
       .help = "routing noise: r_m ~ Unif[0, lambda] is added to each gate output",
       .min = 0.0},
      {.name = "T",
       .type = ParamType::integer,
       .default_value = I{1000},
       .help = "rounds (one task each)",
       .min = 2.0,
       .unit = "rounds"},
      {.name = "T1",
       .type = ParamType::integer,
       .default_value = I{200},
       .help = "rounds of unconditional gate training before the termination rule applies; 0: "
               "ceil(experts/eta), the paper's T1",
       .min = 0.0,
       .unit = "rounds"},
      {.name = "terminate",
       .type = ParamType::boolean,
       .default_value = true,
       .help = "stop updating the gate by the termination rule (off: update it every round)"},
      {.name = "termination",
       .type = ParamType::choice,
       .default_value = std::string("paper"),
       .help = "fixed: no gate update after round T1; paper: after T1, stop at the first round "
               "whose routed expert m_t has some m != m_t with |h_m - h_m_t| < Gamma "
               "(Algorithm 1 of the paper, our reading)",
       .choices = {"fixed", "paper"}},
      {.name = "Gamma",
       .type = ParamType::real,
       .default_value = 0.1,
       .help = "gate-output gap below which the paper's rule stops the gate (keep it < lambda)",
       .min = 0.0},
      {.name = "aux_loss",
       .type = ParamType::choice,
       .default_value = std::string("averaged"),
       .help = "load-balancing loss: averaged (the paper's alpha*M*sum_m f_m*P_m, P_m the mean "
               "over rounds 1..t of pi_m) or current (alpha*M*sum_m f_m*pi_m, this round only)",
       .choices = {"averaged", "current"}},
      {.name = "record_every",
       .type = ParamType::integer,
       .default_value = I{10},
       .help = "rounds between two points of the series F_t and G_t",
       .min = 1.0,
       .unit = "rounds"},
  };
  e.metrics = {
      {.name = "F_T",
       .help = "forgetting: mean over tau<T of ||w_T^(m_tau)-w_n_tau||^2 - "
               "||w_tau^(m_tau)-w_n_tau||^2"},
      {.name = "G_T",
       .help = "generalisation error: mean over tau<=T of ||w_T^(m'_tau)-w_n_tau||^2, m'_tau = "
               "final gate's noiseless choice for X_tau"},
      {.name = "convergence_round",
       .help = "last round whose gate update changed the noiseless cluster -> expert map "
               "argmax_m theta_m . v_n (0: never); <= the gate's last update round",
       .unit = "rounds"},
      {.name = "gate_stop_round",
       .help = "last round with a gate update (T: never stopped; 0: no update, one expert)",
       .unit = "rounds"},
      {.name = "cluster_coverage",
       .help = "routing of rounds t > T/2: fraction of the clusters that are the majority cluster "
               "of some expert (1: each cluster has an expert of its own; M = 1: 1/N)"},
      {.name = "expert_purity",
       .help = "routing of rounds t > T/2: mean over the experts with tasks of the share of "
               "their majority cluster (1/N..1; 1: no expert mixes clusters)"},
      {.name = "load_max_over_mean",
       .help = "largest number of tasks routed to one expert over the mean T/M (1 = balanced)"},
  };
  e.series = {
      {.name = "F_t",
       .help = "forgetting after round t = (i+1)*record_every for element i",
       .axis = "round",
       .x_start = 1.0,
       .x_step = 1.0,
       .x_scale_param = "record_every"},
      {.name = "G_t",
       .help = "generalisation error after round t = (i+1)*record_every for element i",
       .axis = "round",
       .x_start = 1.0,
       .x_step = 1.0,
       .x_scale_param = "record_every"},
      {.name = "routing_counts",
       .help = "tasks of cluster n routed to expert m over all rounds; clusters x experts "
               "matrix flattened row-major: index n*experts + m",
       .unit = "tasks",
       .axis = "cluster*experts + expert"},
  };
  e.plots = {
      {.title = "generalisation error against the number of experts",
       .x = "experts",
       .y = "G_T",
       .group_by = "terminate"},
      {.title = "rounds until the gate's cluster map settles, against the number of experts",
       .x = "experts",
       .y = "convergence_round",
       .group_by = "terminate"},
      {.title = "forgetting against the number of experts",
       .x = "experts",
       .y = "F_T",
       .group_by = "terminate"},
      {.title = "generalisation error over rounds, with and without termination",
       .x = "",
       .y = "G_t",
       .group_by = "terminate",
       .series = "G_t"},
      {.title = "forgetting over rounds, with and without termination",
       .x = "",
       .y = "F_t",
       .group_by = "terminate",
       .series = "F_t"},
  };
  e.check = check_moe_cl;
  e.run = [](const Params& p, const RunContext& ctx) {
    const moe_cl::Outcome o = moe_cl::simulate(moe_cl::config_from_params(p), ctx);
    Result r;
    r.metrics = {{"F_T", o.F_T},
                 {"G_T", o.G_T},
                 {"convergence_round", o.convergence_round},
                 {"gate_stop_round", o.gate_stop_round},
                 {"cluster_coverage", o.cluster_coverage},
                 {"expert_purity", o.expert_purity},
                 {"load_max_over_mean", o.load_max_over_mean}};
    r.series = {{"F_t", o.F_t}, {"G_t", o.G_t}, {"routing_counts", o.routing_counts}};
    return r;
  };
  return e;
}

}  // namespace mpisweep

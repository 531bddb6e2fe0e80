// Kinetic solver (specs/kinetic_closure.md "Model"; equations in kinetic.hpp).
#include <cmath>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/kinetic_closure/kinetic.hpp>
#include <numbers>
#include <utility>

namespace mpisweep::kinetic {

namespace {
constexpr std::size_t chunk_width = 32;  // fixed θ-transform chunk: independent of thread count

std::size_t chunk_count(std::size_t nk) { return (nk + chunk_width - 1) / chunk_width; }

// First column and width of chunk `ch` of [0, nk).
std::pair<Eigen::Index, Eigen::Index> chunk_cols(std::size_t ch, std::size_t nk) {
  const std::size_t first = ch * chunk_width;
  return {Eigen::Index(first), Eigen::Index(std::min(chunk_width, nk - first))};
}
}  // namespace

KineticSolver::KineticSolver(const KineticConfig& cfg, ThreadPool& pool)
    : cfg_(cfg), pool_(pool), grid_(cfg.N, cfg.L), M_((cfg.Ntheta - 1) / 2) {
  if (cfg.Ntheta < 9 || cfg.Ntheta % 2 == 0)
    throw internal_error("KineticSolver: Ntheta must be odd and >= 9");
  const int nt = cfg.Ntheta;
  const std::size_t nk = grid_.kept();
  fwd_.resize(nt, nt);
  inv_.resize(nt, nt);
  cos_.resize(nt);
  sin_.resize(nt);
  for (int j = 0; j < nt; ++j) {
    const double th = 2 * std::numbers::pi * j / nt;
    cos_[j] = std::cos(th);
    sin_[j] = std::sin(th);
    for (int m = -M_; m <= M_; ++m) {
      // Exact phases from the integer product m·j mod Ntheta.
      const double ph = 2 * std::numbers::pi * double(((m * j) % nt + nt) % nt) / nt;
      fwd_(m + M_, j) = cplx(std::cos(ph), -std::sin(ph)) / double(nt);
      inv_(j, m + M_) = cplx(std::cos(ph), std::sin(ph));
    }
  }
  for (auto* m : {&a_, &a_old_, &n_, &n_old_, &b_, &flux_, &rot_, &rotm_, &fxh_, &fyh_})
    m->setZero(nt, nk);
  for (auto& v : mh_) v.assign(nk, cplx(0));  // the moments of a_ = 0
  for (auto* v : {&vel_.ux, &vel_.uy, &vel_.gxx, &vel_.gxy, &vel_.gyx}) v->assign(nk, cplx(0));
  for (int j = 0; j < nt; ++j) {
    scratch_.emplace_back(grid_.half());
    psi_.emplace_back(grid_.points());
  }
  for (int i = 0; i < 3 * nt; ++i) {
    prod_.emplace_back(grid_.points());
    prod_scratch_.emplace_back(grid_.half());
  }
  for (int f = 0; f < 8; ++f) {
    fields_.emplace_back(grid_.points());
    field_scratch_.emplace_back(grid_.half());
  }
}

double KineticSolver::linear(int m, std::size_t q) const {
  return -cfg_.dT * grid_.k2(q) - cfg_.dR * double(m) * double(m);
}

void KineticSolver::theta_transform(const Eigen::MatrixXcd& F, const CMatrix& in, CMatrix& out) {
  const std::size_t nk = std::size_t(in.cols());
  const std::size_t chunks = chunk_count(nk);
  pool_.parallel_for(chunks, [&](std::size_t b, std::size_t e) {
    for (std::size_t ch = b; ch < e; ++ch) {
      const auto [k0, w] = chunk_cols(ch, nk);
      out.middleCols(k0, w).noalias() = F * in.middleCols(k0, w);
    }
  });
}

namespace {
// The moments of Ψ on modes [q0, q1) from its θ harmonics a_m: c = 2π a_0,
// D11, D22 = π a_0 ± (π/2)(a_2 + a_−2), D12 = i(π/2)(a_2 − a_−2), C4 = π(a_4 + a_−4),
// S4 = iπ(a_4 − a_−4).
void moments_of(const CMatrix& a, int M, std::size_t q0, std::size_t q1,
                std::array<std::vector<cplx>, 6>& out) {
  const double pi = std::numbers::pi;
  const cplx I(0, 1);
  for (std::size_t q = q0; q < q1; ++q) {
    const cplx a0 = a(M, q), a2 = a(M + 2, q), am2 = a(M - 2, q);
    const cplx a4 = a(M + 4, q), am4 = a(M - 4, q);
    out[0][q] = 2 * pi * a0;
    out[1][q] = pi * a0 + pi / 2 * (a2 + am2);
    out[2][q] = I * (pi / 2) * (a2 - am2);
    out[3][q] = pi * a0 - pi / 2 * (a2 + am2);
    out[4][q] = pi * (a4 + am4);
    out[5][q] = I * pi * (a4 - am4);
  }
}
}  // namespace

std::array<std::vector<cplx>, 6> KineticSolver::moments_hat(const CMatrix& a) const {
  std::array<std::vector<cplx>, 6> out;
  for (auto& v : out) v.assign(grid_.kept(), cplx(0));
  moments_of(a, M_, 0, grid_.kept(), out);
  return out;
}

void KineticSolver::update_moments(std::size_t q0, std::size_t q1) {
  moments_of(a_, M_, q0, q1, mh_);
  stokes(grid_, cfg_.alpha, mh_[1].data(), mh_[2].data(), mh_[3].data(), vel_, q0, q1);
}

void KineticSolver::explicit_rhs(const CMatrix& a, CMatrix& out) {
  rhs_transforms(a);
  const std::size_t nk = grid_.kept();
  out.resize(cfg_.Ntheta, Eigen::Index(nk));
  pool_.parallel_for(chunk_count(nk), [&](std::size_t b, std::size_t e) {
    for (std::size_t ch = b; ch < e; ++ch) {
      const auto [k0, w] = chunk_cols(ch, nk);
      finish_rhs(out, k0, k0 + w);
    }
  });
}

void KineticSolver::add_rotation(CMatrix& out, Eigen::Index k0, Eigen::Index k1) const {
  // −∂_θ(θ̇Ψ) → −i m ĥ_m.
  for (int m = -M_; m <= M_; ++m)
    for (Eigen::Index q = k0; q < k1; ++q) {
      const cplx r = rotm_(m + M_, q);
      out(m + M_, q) += double(m) * cplx(r.imag(), -r.real());
    }
}

// Columns [k0, k1) of N(a) from the per-θ transforms of rhs_transforms: −∇·F in Fourier space,
// −i(k_x F̂_x + k_y F̂_y), then the forward θ transforms of it and of θ̇Ψ, and the rotation term.
void KineticSolver::finish_rhs(CMatrix& out, Eigen::Index k0, Eigen::Index k1) {
  const Eigen::Index w = k1 - k0;
  for (int j = 0; j < cfg_.Ntheta; ++j)
    for (Eigen::Index q = k0; q < k1; ++q) {
      const cplx d = grid_.kx(std::size_t(q)) * fxh_(j, q) + grid_.ky(std::size_t(q)) * fyh_(j, q);
      flux_(j, q) = cplx(d.imag(), -d.real());
    }
  out.middleCols(k0, w).noalias() = fwd_ * flux_.middleCols(k0, w);
  rotm_.middleCols(k0, w).noalias() = fwd_ * rot_.middleCols(k0, w);
  add_rotation(out, k0, k1);
}

// The per-θ part of N(a), in two parallel regions with at least Ntheta + 8 and 3 Ntheta items
// (Ntheta items alone would leave threads idle whenever Ntheta is not a multiple of the thread
// count: 17 rows on 16 threads took two rounds). Leaves fxh_, fyh_ = F(uΨ) and rot_ = F(θ̇Ψ),
// one row per θ point.
void KineticSolver::rhs_transforms(const CMatrix& a) {
  const int nt = cfg_.Ntheta;
  const std::size_t np = grid_.points();

  // Velocity from the D field (Stokes), per mode: of the state, already computed by step().
  std::array<std::vector<cplx>, 6> other_mh;
  VelocityHat other_v;
  if (&a != &a_) {
    other_mh = moments_hat(a);
    stokes(grid_, cfg_.alpha, other_mh[1].data(), other_mh[2].data(), other_mh[3].data(), other_v);
  }
  const auto& mh = &a == &a_ ? mh_ : other_mh;
  const VelocityHat& v = &a == &a_ ? vel_ : other_v;

  // Region 1: u, G and D in physical space (items 0..7), and per θ point j (items 8 + j) the
  // inverse θ transform of row j, Ψ̂(k, θ_j) = Σ_m e^{imθ_j} a_m(k), and Ψ(x, θ_j).
  const std::array<const cplx*, 8> src = {v.ux.data(),  v.uy.data(),  v.gxx.data(), v.gxy.data(),
                                          v.gyx.data(), mh[1].data(), mh[2].data(), mh[3].data()};
  pool_.parallel_for(8 + std::size_t(nt), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      if (i < 8) {
        grid_.to_physical(src[i], fields_[i].data(), field_scratch_[i]);
        continue;
      }
      const Eigen::Index j = Eigen::Index(i - 8);
      b_.row(j).noalias() = inv_.row(j) * a;
      grid_.to_physical(&b_(j, 0), psi_[std::size_t(j)].data(), scratch_[std::size_t(j)]);
    }
  });

  const double* ux = fields_[0].data();
  const double* uy = fields_[1].data();
  const double* gxx = fields_[2].data();
  const double* gxy = fields_[3].data();
  const double* gyx = fields_[4].data();
  const double* dxx = fields_[5].data();
  const double* dxy = fields_[6].data();
  const double* dyy = fields_[7].data();
  const auto& G0 = cfg_.background_gradient;
  const double z2 = 2 * cfg_.zeta;

  // Region 2: item 3j + f, per θ point j, one of the three fluxes uΨ, vΨ (f = 0, 1) and θ̇_a Ψ
  // (f = 2), formed and transformed to Fourier space.
  pool_.parallel_for(3 * std::size_t(nt), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const std::size_t j = i / 3, f = i % 3;
      const double* psi = psi_[j].data();
      double* prod = prod_[i].data();
      if (f == 0) {
        for (std::size_t p = 0; p < np; ++p) prod[p] = ux[p] * psi[p];
        grid_.to_spectral(prod, &fxh_(Eigen::Index(j), 0), prod_scratch_[i]);
      } else if (f == 1) {
        for (std::size_t p = 0; p < np; ++p) prod[p] = uy[p] * psi[p];
        grid_.to_spectral(prod, &fyh_(Eigen::Index(j), 0), prod_scratch_[i]);
      } else {
        const double c = cos_[j], s = sin_[j], cc = c * c, ss = s * s, cs = c * s;
        for (std::size_t p = 0; p < np; ++p) {
          // θ̇_a = p⊥·A·p = cs (A22 − A11) + A21 c² − A12 s², A = G + G0 + 2ζD.
          const double a11 = gxx[p] + G0[0] + z2 * dxx[p];
          const double a12 = gxy[p] + G0[1] + z2 * dxy[p];
          const double a21 = gyx[p] + G0[2] + z2 * dxy[p];
          const double a22 = -gxx[p] + G0[3] + z2 * dyy[p];
          const double thdot = cs * (a22 - a11) + a21 * cc - a12 * ss;
          prod[p] = thdot * psi[p];
        }
        grid_.to_spectral(prod, &rot_(Eigen::Index(j), 0), prod_scratch_[i]);
      }
    }
  });
}

// One time step in three parallel regions: the two of rhs_transforms, then, per fixed chunk of
// x-modes, the rest of N(a), the SBDF2 update and the apolar projection.
void KineticSolver::step() {
  rhs_transforms(a_);
  const double dt = cfg_.dt;
  const std::size_t nk = grid_.kept();
  const std::size_t chunks = chunk_count(nk);
  pool_.parallel_for(chunks, [&](std::size_t b, std::size_t e) {
    for (std::size_t ch = b; ch < e; ++ch) {
      const auto [k0, w] = chunk_cols(ch, nk);
      const Eigen::Index k1 = k0 + w;
      finish_rhs(n_, k0, k1);
      for (int m = -M_; m <= M_; ++m) {
        const Eigen::Index r = m + M_;
        for (Eigen::Index k = k0; k < k1; ++k) {
          const double lin = linear(m, std::size_t(k));
          cplx next;
          if (!have_history_)
            next = (a_(r, k) + dt * n_(r, k)) / (1 - dt * lin);
          else
            next = (4.0 * a_(r, k) - a_old_(r, k) + 2 * dt * (2.0 * n_(r, k) - n_old_(r, k))) /
                   (3 - 2 * dt * lin);
          a_old_(r, k) = a_(r, k);
          a_(r, k) = (cfg_.apolar && m % 2 != 0) ? cplx(0) : next;
        }
      }
      update_moments(std::size_t(k0), std::size_t(k1));  // for the next step and the caller
    }
  });
  std::swap(n_, n_old_);
  have_history_ = true;
  t_ += dt;
}

void KineticSolver::project_apolar() {
  if (!cfg_.apolar) return;
  for (int m = -M_; m <= M_; ++m)
    if (m % 2 != 0) a_.row(m + M_).setZero();
}

void KineticSolver::set_state(const std::function<double(double, double, double)>& psi) {
  const int nt = cfg_.Ntheta, n = cfg_.N;
  const double h = cfg_.L / n;
  pool_.parallel_for(std::size_t(nt), [&](std::size_t b, std::size_t e) {
    for (std::size_t j = b; j < e; ++j) {
      const double th = 2 * std::numbers::pi * double(j) / nt;
      double* p = psi_[j].data();
      for (int ix = 0; ix < n; ++ix)
        for (int iy = 0; iy < n; ++iy) p[std::size_t(ix) * n + iy] = psi(ix * h, iy * h, th);
      grid_.to_spectral(p, &b_(Eigen::Index(j), 0), scratch_[j]);
    }
  });
  theta_transform(fwd_, b_, a_);
  project_apolar();
  update_moments(0, grid_.kept());
  a_old_.setZero();
  n_old_.setZero();
  have_history_ = false;
  t_ = 0;
}

MomentFields KineticSolver::moments() {
  const auto& mh = mh_;
  MomentFields f;
  std::array<std::vector<double>*, 6> dst = {&f.c, &f.dxx, &f.dxy, &f.dyy, &f.c4, &f.s4};
  pool_.parallel_for(6, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      grid_.to_physical(mh[i].data(), fields_[i].data(), field_scratch_[i]);
      dst[i]->assign(fields_[i].data(), fields_[i].data() + grid_.points());
    }
  });
  return f;
}

FlowFields KineticSolver::flow() {
  const VelocityHat& v = vel_;
  FlowFields f;
  std::array<std::vector<double>*, 5> dst = {&f.ux, &f.uy, &f.gxx, &f.gxy, &f.gyx};
  std::array<const std::vector<cplx>*, 5> src = {&v.ux, &v.uy, &v.gxx, &v.gxy, &v.gyx};
  pool_.parallel_for(5, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      grid_.to_physical(src[i]->data(), fields_[i].data(), field_scratch_[i]);
      dst[i]->assign(fields_[i].data(), fields_[i].data() + grid_.points());
    }
  });
  return f;
}

double KineticSolver::mass() const {
  return cfg_.L * cfg_.L * 2 * std::numbers::pi * a_(M_, 0).real();
}

double KineticSolver::max_divergence() {
  const auto mh = moments_hat(a_);
  VelocityHat v;
  stokes(grid_, cfg_.alpha, mh[1].data(), mh[2].data(), mh[3].data(), v);
  std::vector<cplx> div(grid_.kept());
  for (std::size_t q = 0; q < div.size(); ++q)
    div[q] = cplx(0, 1) * (grid_.kx(q) * v.ux[q] + grid_.ky(q) * v.uy[q]);
  FftBuffer<double> buf(grid_.points());
  grid_.to_physical(div.data(), buf.data(), field_scratch_[0]);
  double mx = 0;
  for (std::size_t p = 0; p < grid_.points(); ++p) mx = std::max(mx, std::abs(buf[p]));
  return mx;
}

bool KineticSolver::finite() const { return a_.allFinite(); }

}  // namespace mpisweep::kinetic

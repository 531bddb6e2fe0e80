// Moments and the Bingham closure (specs/kinetic_closure.md "Closures"; Bessel formulas from
// Abramowitz & Stegun 9.6.10 (series) and 9.7.1 (Hankel expansion)).
#include <algorithm>
#include <cmath>
#include <mpisweep/experiments/kinetic_closure/closure.hpp>

namespace mpisweep::kinetic {

Sym4 fourth_moment(double c, const Sym2& D, const Harmonic4& h) {
  const double c2 = D.xx - D.yy;  // ∫cos 2θ Ψ
  const double s2 = 2 * D.xy;     // ∫sin 2θ Ψ
  return {.xxxx = (3 * c + 4 * c2 + h.c4) / 8,
          .xxxy = (2 * s2 + h.s4) / 8,
          .xxyy = (c - h.c4) / 8,
          .xyyy = (2 * s2 - h.s4) / 8,
          .yyyy = (3 * c - 4 * c2 + h.c4) / 8};
}

Harmonic4 harmonic_of(const Sym4& S) {
  return {.c4 = S.xxxx - 6 * S.xxyy + S.yyyy, .s4 = 4 * (S.xxxy - S.xyyy)};
}

Sym2 contract(const Sym4& S, const Sym2& A) {
  return {.xx = S.xxxx * A.xx + 2 * S.xxxy * A.xy + S.xxyy * A.yy,
          .xy = S.xxxy * A.xx + 2 * S.xxyy * A.xy + S.xyyy * A.yy,
          .yy = S.xxyy * A.xx + 2 * S.xyyy * A.xy + S.yyyy * A.yy};
}

Frame eigenframe(double c, const Sym2& D) {
  // Q11 − Q22 = r cos 2φ, 2 Q12 = r sin 2φ, μ1 = (1 + r)/2 (tr Q = 1).
  const double a = (D.xx - D.yy) / c, b = 2 * D.xy / c;
  const double r = std::hypot(a, b);
  Frame f;
  f.r = r;
  f.mu1 = 0.5 * (1 + r);
  if (r > 0) {
    f.cos2 = a / r;
    f.sin2 = b / r;
  }
  return f;
}

namespace {

// Σ_k (κ²/4)^k / (k! (k+n)!) · n!, the normalised series of I_n(κ) / (κ/2)^n · n!.
double bessel_series(double kappa, int n) {
  const double q = kappa * kappa / 4;
  double term = 1, sum = 1;
  for (int k = 1; k < 400; ++k) {
    term *= q / (double(k) * double(k + n));
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}

// √(2πκ) e^{−κ} I_n(κ) ~ Σ_j (−1)^j a_j(n)/κ^j, a_j = Π_{i≤j}(4n² − (2i−1)²)/(j! 8^j).
double bessel_asymptotic(double kappa, int n) {
  const double mu = 4.0 * n * n;
  double term = 1, sum = 1;
  for (int j = 1; j < 60; ++j) {
    const double next = -term * (mu - (2.0 * j - 1) * (2.0 * j - 1)) / (j * 8.0 * kappa);
    if (std::abs(next) >= std::abs(term) && j > 2) break;  // asymptotic series turns
    term = next;
    sum += term;
    if (std::abs(term) < 1e-17 * std::abs(sum)) break;
  }
  return sum;
}

}  // namespace

BesselRatios bessel_ratios(double kappa) {
  BesselRatios b;
  if (kappa <= 0) return b;
  if (kappa <= 30) {
    const double s0 = bessel_series(kappa, 0), s1 = bessel_series(kappa, 1),
                 s2 = bessel_series(kappa, 2);
    // I1 = (κ/2) s1, I2 = (κ/2)²/2 s2, I0 = s0.
    b.r1_over_kappa = 0.5 * s1 / s0;
    b.r1 = kappa * b.r1_over_kappa;
    b.r2 = kappa * kappa / 8 * s2 / s0;
  } else {
    const double a0 = bessel_asymptotic(kappa, 0), a1 = bessel_asymptotic(kappa, 1),
                 a2 = bessel_asymptotic(kappa, 2);
    b.r1 = a1 / a0;
    b.r2 = a2 / a0;
    b.r1_over_kappa = b.r1 / kappa;
  }
  return b;
}

double bingham_kappa(double r) {
  r = std::clamp(r, 0.0, 1.0 - 1e-6);
  if (r == 0) return 0;
  // Best & Fisher (1981) approximation of the inverse of A1 = I1/I0 as the starting value.
  double kappa = r < 0.53   ? 2 * r + r * r * r + 5 * std::pow(r, 5) / 6
                 : r < 0.85 ? -0.4 + 1.39 * r + 0.43 / (1 - r)
                            : 1 / (r * r * r - 4 * r * r + 3 * r);
  // Newton on f(κ) = I1/I0 − r with f'(κ) = 1 − (I1/I0)/κ − (I1/I0)².
  for (int it = 0; it < 100; ++it) {
    const BesselRatios b = bessel_ratios(kappa);
    const double fp = 1 - b.r1_over_kappa - b.r1 * b.r1;
    double step = (b.r1 - r) / fp;
    double next = kappa - step;
    if (next <= 0) next = 0.5 * kappa;  // stay in the domain
    step = kappa - next;
    kappa = next;
    if (std::abs(step) <= 1e-15 * kappa) break;
  }
  return kappa;
}

Harmonic4 rotate_harmonic(const Frame& f, const Harmonic4& e) {
  const double cos4 = f.cos2 * f.cos2 - f.sin2 * f.sin2, sin4 = 2 * f.sin2 * f.cos2;
  return {.c4 = e.c4 * cos4 - e.s4 * sin4, .s4 = e.s4 * cos4 + e.c4 * sin4};
}

Harmonic4 unrotate_harmonic(const Frame& f, const Harmonic4& l) {
  const double cos4 = f.cos2 * f.cos2 - f.sin2 * f.sin2, sin4 = 2 * f.sin2 * f.cos2;
  return {.c4 = l.c4 * cos4 + l.s4 * sin4, .s4 = l.s4 * cos4 - l.c4 * sin4};
}

Harmonic4 bingham_harmonic(double c, const Sym2& D) {
  const Frame f = eigenframe(c, D);
  const double R2 = bessel_ratios(bingham_kappa(f.r)).r2;  // ⟨cos 4θ'⟩ in the eigenframe
  return rotate_harmonic(f, {.c4 = R2, .s4 = 0});
}

Sym4 bingham_closure(double c, const Sym2& D) {
  const Harmonic4 h = bingham_harmonic(c, D);
  return fourth_moment(c, D, {.c4 = c * h.c4, .s4 = c * h.s4});
}

}  // namespace mpisweep::kinetic

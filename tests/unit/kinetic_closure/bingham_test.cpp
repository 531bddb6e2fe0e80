// Bingham closure against θ-quadrature of the Bingham density and the spec's reference values
// (specs/kinetic_closure.md "Closures").
#include <gtest/gtest.h>

#include <cmath>
#include <mpisweep/experiments/kinetic_closure/closure.hpp>
#include <numbers>

using namespace mpisweep::kinetic;

namespace {

struct Quad {
  double c = 0;
  Sym2 D;
  Sym4 S;
};

// Trapezoid rule on a periodic analytic integrand: spectrally accurate.
Quad quadrature(double kappa, double theta0, double scale, int n = 4096) {
  Quad q;
  const double h = 2 * std::numbers::pi / n;
  for (int j = 0; j < n; ++j) {
    const double th = j * h, c = std::cos(th), s = std::sin(th);
    const double w = scale * std::exp(kappa * (std::cos(2 * (th - theta0)) - 1)) * h;
    q.c += w;
    q.D.xx += w * c * c;
    q.D.xy += w * c * s;
    q.D.yy += w * s * s;
    q.S.xxxx += w * c * c * c * c;
    q.S.xxxy += w * c * c * c * s;
    q.S.xxyy += w * c * c * s * s;
    q.S.xyyy += w * c * s * s * s;
    q.S.yyyy += w * s * s * s * s;
  }
  return q;
}

}  // namespace

TEST(Bingham, BesselRatiosMatchStdLibrary) {
  for (double k : {1e-6, 0.01, 0.5, 1.0, 3.0, 10.0, 29.9, 30.1, 60.0, 200.0}) {
    const auto b = bessel_ratios(k);
    const double i0 = std::cyl_bessel_i(0.0, k), i1 = std::cyl_bessel_i(1.0, k),
                 i2 = std::cyl_bessel_i(2.0, k);
    EXPECT_NEAR(b.r1, i1 / i0, 1e-14) << k;
    EXPECT_NEAR(b.r2, i2 / i0, 1e-14) << k;
    EXPECT_NEAR(b.r1_over_kappa, i1 / i0 / k, 1e-13 / std::min(k, 1.0) * 1e-0) << k;
  }
}

TEST(Bingham, KappaInvertsTheBesselRatio) {
  for (double k : {1e-5, 0.1, 1.0, 2.5, 7.0, 25.0, 45.0, 300.0}) {
    const double r = bessel_ratios(k).r1;
    EXPECT_NEAR(bingham_kappa(r), k, 1e-10 * std::max(1.0, k * k)) << k;
  }
  // Small-r and μ2 → 0 expansions of the spec.
  EXPECT_NEAR(bingham_kappa(1e-3), 2e-3 + 1e-9, 1e-12);
  const double mu2 = 1e-3;
  EXPECT_NEAR(bingham_kappa(1 - 2 * mu2), 1 / (4 * mu2) + 0.25, 0.02);
}

TEST(Bingham, EqualsQuadratureOfTheBinghamDensity) {
  for (double kappa : {0.0, 1e-4, 0.3, 1.0, 2.0, 5.0, 12.0}) {
    for (double theta0 : {0.0, 0.4, 1.3, 2.9}) {
      for (double scale : {1.0, 0.37}) {
        const Quad q = quadrature(kappa, theta0, scale);
        const Sym4 S = bingham_closure(q.c, q.D);
        const double tol = 1e-12 * q.c;
        EXPECT_NEAR(S.xxxx, q.S.xxxx, tol) << kappa << " " << theta0;
        EXPECT_NEAR(S.xxxy, q.S.xxxy, tol) << kappa << " " << theta0;
        EXPECT_NEAR(S.xxyy, q.S.xxyy, tol) << kappa << " " << theta0;
        EXPECT_NEAR(S.xyyy, q.S.xyyy, tol) << kappa << " " << theta0;
        EXPECT_NEAR(S.yyyy, q.S.yyyy, tol) << kappa << " " << theta0;
      }
    }
  }
}

TEST(Bingham, SpecReferenceValues) {
  {
    const Sym4 S = bingham_closure(1.0, {.xx = 0.6, .xy = 0, .yy = 0.4});
    EXPECT_NEAR(S.xxxx, 0.477534192384644, 1e-14);
    EXPECT_NEAR(S.xxyy, 0.122465807615356, 1e-14);
    EXPECT_NEAR(S.xxxy, 0.0, 1e-15);
  }
  {
    const Sym4 S = bingham_closure(1.0, {.xx = 0.9, .xy = 0, .yy = 0.1});
    EXPECT_NEAR(S.xxxx, 0.830344817360309, 1e-14);
    EXPECT_NEAR(S.xxyy, 0.069655182639691, 1e-14);
  }
}

TEST(Bingham, TraceIdentitiesAndIsotropicLimit) {
  const Sym2 D{.xx = 0.31, .xy = 0.12, .yy = 0.52};
  const double c = D.xx + D.yy;
  const Sym4 S = bingham_closure(c, D);
  EXPECT_NEAR(S.xxxx + S.xxyy, D.xx, 1e-15);
  EXPECT_NEAR(S.xxxy + S.xyyy, D.xy, 1e-15);
  EXPECT_NEAR(S.xxyy + S.yyyy, D.yy, 1e-15);
  // Isotropic: S = c/8 (δδ + δδ + δδ): S1111 = 3c/8, S1122 = c/8.
  const Sym4 iso = bingham_closure(2.0, {.xx = 1.0, .xy = 0, .yy = 1.0});
  EXPECT_NEAR(iso.xxxx, 0.75, 1e-15);
  EXPECT_NEAR(iso.xxyy, 0.25, 1e-15);
}

TEST(Bingham, HarmonicRoundTrip) {
  const Sym4 S{.xxxx = 0.4, .xxxy = 0.05, .xxyy = 0.1, .xyyy = 0.02, .yyyy = 0.3};
  const Sym2 D{.xx = S.xxxx + S.xxyy, .xy = S.xxxy + S.xyyy, .yy = S.xxyy + S.yyyy};
  const Sym4 back = fourth_moment(D.xx + D.yy, D, harmonic_of(S));
  EXPECT_NEAR(back.xxxx, S.xxxx, 1e-15);
  EXPECT_NEAR(back.xxxy, S.xxxy, 1e-15);
  EXPECT_NEAR(back.xxyy, S.xxyy, 1e-15);
  EXPECT_NEAR(back.xyyy, S.xyyy, 1e-15);
  EXPECT_NEAR(back.yyyy, S.yyyy, 1e-15);
}

#pragma once
// Samples of a made-up closure the network tests fit: C̃4/c = 0.3 r² + 0.6 r⁴,
// S̃4/c = 0.5 r² ẽ12 in the eigenframe, at random orientation, order, strain and vorticity.
#include <cmath>
#include <mpisweep/core/rng.hpp>
#include <mpisweep/experiments/kinetic_closure/mlp.hpp>
#include <numbers>

namespace mpisweep::kinetic::test {

inline Samples made_up_closure(Rng& rng, int n) {
  constexpr double pi = std::numbers::pi;
  Samples s;
  for (int i = 0; i < n; ++i) {
    const double c = 1 + 0.2 * rng.uniform(-1, 1), r = rng.uniform(0.05, 0.95),
                 phi = rng.uniform(0, pi);
    const double e = 0.3 * rng.normal(), e12 = 0.3 * rng.normal(), w = 0.3 * rng.normal();
    // Q = diag(μ1, μ2) rotated by φ; G = E + W with E traceless.
    const double cos2 = std::cos(2 * phi), sin2 = std::sin(2 * phi);
    s.c.push_back(c);
    s.dxx.push_back(c * (0.5 + 0.5 * r * cos2));
    s.dyy.push_back(c * (0.5 - 0.5 * r * cos2));
    s.dxy.push_back(c * 0.5 * r * sin2);
    s.gxx.push_back(e);
    s.gxy.push_back(e12 - 0.5 * w);
    s.gyx.push_back(e12 + 0.5 * w);
    const double et12 = cos2 * e12 - sin2 * e;  // eigenframe strain
    const Frame f{.mu1 = 0.5 * (1 + r), .r = r, .cos2 = cos2, .sin2 = sin2};
    const Harmonic4 lab =
        rotate_harmonic(f, {.c4 = 0.3 * r * r + 0.6 * r * r * r * r, .s4 = 0.5 * r * r * et12});
    s.c4.push_back(c * lab.c4);
    s.s4.push_back(c * lab.s4);
  }
  return s;
}

}  // namespace mpisweep::kinetic::test

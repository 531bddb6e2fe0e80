#pragma once
// Second and fourth orientation moments in 2D and the Bingham closure
// (specs/kinetic_closure.md "Model" and "Closures").
//
// Conventions: p = (cos θ, sin θ), θ ∈ [0, 2π); c = ∫Ψ dθ, D = ∫pp Ψ dθ, S = ∫pppp Ψ dθ,
// Q = D/c. A symmetric 4-tensor in 2D has five components; with the trace identities
// S_ijkk = D_ij it is fixed by c, D and the fourth angular harmonic
//   C4 = ∫cos 4θ Ψ dθ,  S4 = ∫sin 4θ Ψ dθ,
// through cos⁴θ = (3 + 4 cos 2θ + cos 4θ)/8, cos³θ sin θ = (2 sin 2θ + sin 4θ)/8,
// cos²θ sin²θ = (1 − cos 4θ)/8 (and θ → π/2 − θ for the others). A closure therefore supplies
// only (C4, S4) as a function of D (and, for the learned one, the flow).

namespace mpisweep::kinetic {

struct Sym2 {  // symmetric 2-tensor
  double xx = 0, xy = 0, yy = 0;
};

struct Sym4 {  // fully symmetric 4-tensor: S1111, S1112, S1122, S1222, S2222
  double xxxx = 0, xxxy = 0, xxyy = 0, xyyy = 0, yyyy = 0;
};

struct Harmonic4 {  // ∫cos 4θ Ψ dθ, ∫sin 4θ Ψ dθ (or per unit c when normalised)
  double c4 = 0, s4 = 0;
};

// S from c, D and the fourth harmonic (identities above). Exact, no closure involved.
Sym4 fourth_moment(double c, const Sym2& D, const Harmonic4& h);
// The fourth harmonic of S (inverse of fourth_moment): C4 = S1111 − 6 S1122 + S2222,
// S4 = 4 (S1112 − S1222).
Harmonic4 harmonic_of(const Sym4& S);

// (S:A)_ij = S_ijkl A_kl for symmetric A.
Sym2 contract(const Sym4& S, const Sym2& A);

// Eigen-decomposition of Q = D/c: r = μ1 − μ2 ≥ 0 and cos 2φ, sin 2φ of the leading
// eigenvector n1 = (cos φ, sin φ). For r = 0 the frame is φ = 0.
struct Frame {
  double mu1 = 0.5, r = 0, cos2 = 1, sin2 = 0;
};
Frame eigenframe(double c, const Sym2& D);

// Modified Bessel ratios of Ψ ∝ exp(κ cos 2θ): r1 = I1(κ)/I0(κ), r2 = I2(κ)/I0(κ), for κ ≥ 0.
// Power series (positive terms, no cancellation) for κ ≤ 30, Hankel asymptotic expansion above.
struct BesselRatios {
  double r1 = 0, r2 = 0;
  double r1_over_kappa = 0.5;  // I1/(κ I0), finite at κ = 0
};
BesselRatios bessel_ratios(double kappa);

// Solves I1(κ)/I0(κ) = r for κ (Newton from the Best–Fisher 1981 starting value; monotone
// convergence because I1/I0 is increasing and concave). r is clamped to [0, 1 − 1e-6].
double bingham_kappa(double r);

// Bingham closure, normalised: returns (C4, S4)/c for Q = D/c. In the eigenframe
// C̃4/c = I2(κ)/I0(κ) = R2 and S̃4 = 0; rotated to the lab by 4φ.
Harmonic4 bingham_harmonic(double c, const Sym2& D);
// The full S = c · S_Bingham(Q).
Sym4 bingham_closure(double c, const Sym2& D);

// Rotates a normalised eigenframe harmonic (C̃4, S̃4) to the lab frame: multiplication by e^{4iφ}.
Harmonic4 rotate_harmonic(const Frame& f, const Harmonic4& eig);
// Lab → eigenframe (multiplication by e^{−4iφ}).
Harmonic4 unrotate_harmonic(const Frame& f, const Harmonic4& lab);

}  // namespace mpisweep::kinetic

#pragma once
// Forward-mode dual numbers with N derivative slots: v + Σ_i d_i ε_i, ε_i ε_j = 0. Used to
// linearise the point-wise closure and moment source for the adjoint of the time-stepping loss.
#include <array>
#include <cmath>

namespace mpisweep::kinetic {

template <int N>
struct Dual {
  double v = 0;
  std::array<double, N> d{};
  Dual() = default;
  Dual(double x) : v(x) {}  // NOLINT: constants convert implicitly
  static Dual seed(double x, int i) {
    Dual r(x);
    r.d[std::size_t(i)] = 1;
    return r;
  }
};

template <int N>
Dual<N> operator+(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r(a.v + b.v);
  for (int i = 0; i < N; ++i) r.d[i] = a.d[i] + b.d[i];
  return r;
}
template <int N>
Dual<N> operator-(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r(a.v - b.v);
  for (int i = 0; i < N; ++i) r.d[i] = a.d[i] - b.d[i];
  return r;
}
template <int N>
Dual<N> operator-(const Dual<N>& a) {
  return Dual<N>(0.0) - a;
}
template <int N>
Dual<N> operator*(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r(a.v * b.v);
  for (int i = 0; i < N; ++i) r.d[i] = a.d[i] * b.v + a.v * b.d[i];
  return r;
}
template <int N>
Dual<N> operator/(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r(a.v / b.v);
  for (int i = 0; i < N; ++i) r.d[i] = (a.d[i] - r.v * b.d[i]) / b.v;
  return r;
}
template <int N>
Dual<N> operator*(double a, const Dual<N>& b) {
  return Dual<N>(a) * b;
}
template <int N>
Dual<N> operator*(const Dual<N>& a, double b) {
  return a * Dual<N>(b);
}
template <int N>
Dual<N> operator+(double a, const Dual<N>& b) {
  return Dual<N>(a) + b;
}
template <int N>
Dual<N> operator+(const Dual<N>& a, double b) {
  return a + Dual<N>(b);
}
template <int N>
Dual<N> operator-(double a, const Dual<N>& b) {
  return Dual<N>(a) - b;
}
template <int N>
Dual<N> operator-(const Dual<N>& a, double b) {
  return a - Dual<N>(b);
}
template <int N>
Dual<N> operator/(const Dual<N>& a, double b) {
  return a / Dual<N>(b);
}
template <int N>
Dual<N> sqrt(const Dual<N>& a) {
  Dual<N> r(std::sqrt(a.v));
  for (int i = 0; i < N; ++i) r.d[i] = r.v > 0 ? a.d[i] / (2 * r.v) : 0.0;
  return r;
}
// f(a) with a known derivative f'(a.v): the chain rule for special functions.
template <int N>
Dual<N> chain(const Dual<N>& a, double f, double fprime) {
  Dual<N> r(f);
  for (int i = 0; i < N; ++i) r.d[i] = fprime * a.d[i];
  return r;
}

inline double value(double x) { return x; }
template <int N>
double value(const Dual<N>& x) {
  return x.v;
}

}  // namespace mpisweep::kinetic

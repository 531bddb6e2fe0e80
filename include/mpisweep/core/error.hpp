#pragma once
// Two error roots (style.md §6): `error` is the user's or the environment's fault and is reported
// as a one-line message; `internal_error` is our bug.
#include <stdexcept>
#include <string>

namespace mpisweep {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class internal_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Bad input that must end the program with exit code 2 (usage, sweep file, parameters, foreign
// archive). `where` is "file:line", an option name, or a path.
class input_error : public error {
 public:
  input_error(std::string where, const std::string& what)
      : error(where.empty() ? what : where + ": " + what), where_(std::move(where)) {}
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

// A parameter value an experiment rejects. Experiments throw this from their checks and runs; the
// sweep layer adds the file:line of the offending entry.
class param_error : public error {
 public:
  param_error(std::string param, const std::string& what)
      : error("parameter '" + param + "': " + what), param_(std::move(param)) {}
  const std::string& param() const { return param_; }

 private:
  std::string param_;
};

// Thrown by RunContext::throw_if_cancelled when the runtime asked a task to stop.
class task_cancelled : public error {
 public:
  task_cancelled() : error("cancelled") {}
};

}  // namespace mpisweep

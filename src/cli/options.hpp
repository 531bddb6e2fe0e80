#pragma once
// Option checks whose failure reads as plain words. CLI11 prints "--NAME: MESSAGE", so
// `--threads-per-worker 0` says "--threads-per-worker: must be ≥ 1, found 0" instead of CLI11's
// "Value 0 not in range 0.000000 to 1797...".
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace mpisweep::cli::option {

// A whole number ≥ min (written with ≥ in the message).
CLI::Validator integer_at_least(long long min);
// A whole number in [min, max].
CLI::Validator integer_in(long long min, long long max);
// A finite number > 0 (strictly) or ≥ 0.
CLI::Validator positive_number();
CLI::Validator non_negative_number();
// One of `values`, listed in the message.
CLI::Validator one_of(std::vector<std::string> values);

// A figure size "WIDTHxHEIGHT" in pixels, each 100 to 10000; input_error naming `option`.
struct PixelSize {
  int width = 0, height = 0;
};
PixelSize pixel_size(const std::string& text, const std::string& option);

// True unless this process is a non-zero rank of an MPI launcher (Open MPI, MPICH/PMI, PMIx,
// SLURM's srun), read from the environment before MPI starts: where an option error is printed
// by every rank, only this one needs to say it.
bool first_rank();

}  // namespace mpisweep::cli::option

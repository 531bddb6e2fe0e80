#pragma once
// Figures of the browse commands: what a plot shows (built from an archive by build_figure, in
// plot.cpp) and its rendering to PNG by gnuplot's pngcairo terminal (gnuplot.cpp). gnuplot runs
// as a subprocess on a script in a temporary file; $MPISWEEP_GNUPLOT overrides the program.
#include <mpisweep/archive/archive.hpp>
#include <mpisweep/cli/aggregate.hpp>

#include <string>
#include <utility>
#include <vector>

namespace mpisweep::cli {

struct FigureLine {
  std::string title;
  std::vector<double> x, y, err;  // err: standard error of y; NaN or 0 where unknown
};

struct Figure {
  std::string title, xlabel, ylabel;
  bool logx = false, logy = false;
  bool band = false;  // draw ± se as a shaded band (long curves) instead of error bars
  std::vector<std::pair<double, std::string>> xtics;  // categorical x axis; empty: numeric
  std::vector<double> x_values;  // few distinct numeric x values: tics exactly there
  std::vector<FigureLine> lines;
  int width = 900, height = 600;
};

// Writes `f` as a PNG to `path`. Throws error when gnuplot is missing (naming the Debian package
// gnuplot-nox) or fails (with its first error line).
void render_png(const Figure& f, const std::string& path);
// Throws the same "install gnuplot-nox" error as render_png when gnuplot cannot be run.
void require_gnuplot();

// What to plot: metric `y` against parameter or metric `x`, or, when `series` is set, that series
// against its index; one line per value of the `group_by` parameters; averaged over seeds (and
// over parameters that vary but are neither x nor grouped, which `notes` reports).
struct PlotRequest {
  std::string x, y, series;
  std::vector<std::string> group_by;
  bool logx = false, logy = false;
  std::string title;
  Where where;
};
// Throws input_error naming the option (--x, --y, --series, --group-by) for unknown names, and
// error when nothing is left to plot (no done task with a value).
Figure build_figure(const archive::Reader& reader, const TaskTable& t, const PlotRequest& r,
                    std::vector<std::string>* notes);

}  // namespace mpisweep::cli

#pragma once
// Figures of the browse commands: what a plot shows (built from an archive by build_figure, in
// plot.cpp) and its rendering by gnuplot (gnuplot.cpp) to PNG, PDF or SVG, picked by the output's
// extension. gnuplot runs as a subprocess on a script in a temporary file, with the data in a
// second file; $MPISWEEP_GNUPLOT overrides the program. No text from an archive or the command
// line reaches gnuplot as code (see quote() in gnuplot.cpp).
#include <mpisweep/archive/archive.hpp>
#include <mpisweep/cli/aggregate.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mpisweep::cli {

struct FigureLine {
  std::string title;
  std::vector<double> x, y, err;  // err: standard error of y; NaN or 0 where unknown
};

// How points of a line are drawn: points suit scattered x (random draws, metric against metric),
// lines a dense curve, linespoints a grid axis.
enum class PlotStyle { points, lines, linespoints };

// A 2-D field drawn as a heatmap: `z` is row-major with `rows` rows (y) of `cols` values (x);
// value (r, c) sits at x = x0 + c dx, y = y0 + r dy.
struct Heatmap {
  std::size_t rows = 0, cols = 0;
  std::vector<double> z;
  double x0 = 0, dx = 1, y0 = 0, dy = 1;
  std::string zlabel;
};

struct Figure {
  std::string title, xlabel, ylabel;
  bool logx = false, logy = false;
  bool band = false;  // draw ± se as a shaded band (long curves) instead of error bars
  PlotStyle style = PlotStyle::linespoints;
  std::vector<std::pair<double, std::string>> xtics;  // categorical x axis; empty: numeric
  std::vector<double> x_values;  // few grid values of x: tics exactly there; empty: gnuplot's own
  std::vector<FigureLine> lines;
  bool heatmap = false;  // draw `map` instead of `lines`
  Heatmap map;
  int width = 900, height = 600;
};

// Writes `f` to `path` in the format its extension names (image_format), through a temporary
// file renamed into place; an existing `path` is replaced only when it is an image (PendingFile),
// never `protect` (the input archive). Throws input_error("-o", ...) for a bad target, error when
// gnuplot is missing (naming the Debian package gnuplot-nox) or fails (its first error line).
void render(const Figure& f, const std::string& path, const std::string& protect);
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
  std::optional<PlotStyle> style;  // unset: points where x scatters, else linespoints
  bool heatmap = false;            // `series` is a 2-D field: its mean over the kept done tasks
  std::string task;                // heatmap of this one task (hex id, as status prints it)
};
// Throws input_error naming the option (--x, --y, --series, --group-by) for unknown names, and
// error when nothing is left to plot (no done task with a value).
Figure build_figure(const archive::Reader& reader, const TaskTable& t, const PlotRequest& r,
                    std::vector<std::string>* notes);

}  // namespace mpisweep::cli

// Rendering figures with gnuplot: a script of our own words with every outside text quoted
// (quote()), and the numbers in a data file the script only names.
#include "gnuplot.hpp"

#include "output_file.hpp"

#include <mpisweep/core/error.hpp>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace mpisweep::cli {

namespace {

const char* install_hint =
    "gnuplot is needed to draw figures; install it (Debian/Ubuntu: "
    "apt-get install gnuplot-nox) or set MPISWEEP_GNUPLOT to its path";

std::string gnuplot_program() {
  const char* p = std::getenv("MPISWEEP_GNUPLOT");
  return p && *p ? p : "gnuplot";
}

// Every text from an archive or the command line (titles, units, parameter names and values,
// paths) enters the script as a double-quoted string in which every character but letters,
// digits, blank and . , - _ + = : / ( ) [ ] is an octal escape \ooo. gnuplot substitutes
// backquotes and @macros in the raw line before it parses strings, so an escaped backquote is
// never seen as one; the escape becomes the character only inside the string (gnuplot 5.4 manual,
// "Syntax: Quote marks" and "Substitution"). Single quotes are no alternative: gnuplot 5.4's
// scanner breaks on a doubled quote next to another. Control characters become blanks, so no text
// can end or continue the line; texts are drawn noenhanced, so no {^ _ @ &} markup applies.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || (c != 0 && std::strchr(" .,-_+=:/()[]", c))) {
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += ' ';
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    }
  }
  return out + "\"";
}

// A tic label is also a format for the tic's value; a literal % is written %%.
std::string tic_text(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '%' ? std::string("%%") : std::string(1, c);
  return out;
}

std::string num(double x) {
  if (!std::isfinite(x)) return "NaN";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

class TempFile {
 public:
  explicit TempFile(const char* suffix) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "mpisweep-XXXXXX").string() + suffix;
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    int fd = mkstemps(buf.data(), static_cast<int>(std::strlen(suffix)));
    if (fd < 0) throw error("cannot create a temporary file: " + std::string(std::strerror(errno)));
    ::close(fd);
    path_ = buf.data();
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs gnuplot on `script_path` with stdout and stderr into `log_path`; returns its exit status,
// or -1 when it could not be started.
int run_gnuplot(const std::string& script_path, const std::string& log_path) {
  const std::string prog = gnuplot_program();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  // -d: no ~/.gnuplot or system init file, so the figure depends on nothing but the script.
  char no_init[] = "-d";
  std::vector<char*> argv{const_cast<char*>(prog.c_str()), no_init,
                          const_cast<char*>(script_path.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, prog.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string first_error_line(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line, first;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t^") == std::string::npos) continue;
    if (first.empty()) first = line;
    // gnuplot prints the offending line, a caret, then `"file" line N: message`.
    if (line.find("line ") != std::string::npos && line.find(':') != std::string::npos) return line;
  }
  return first;
}

std::string tic_label(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", x);
  return buf;
}

// The numbers of every line as blocks separated by two blank lines (gnuplot's `index`), or the
// heatmap as a matrix.
std::string data_text(const Figure& f) {
  std::ostringstream s;
  if (f.heatmap) {
    for (std::size_t r = 0; r < f.map.rows; ++r) {
      for (std::size_t c = 0; c < f.map.cols; ++c)
        s << (c ? " " : "") << num(f.map.z[r * f.map.cols + c]);
      s << "\n";
    }
    return s.str();
  }
  for (std::size_t i = 0; i < f.lines.size(); ++i) {
    const auto& l = f.lines[i];
    if (i) s << "\n\n";
    for (std::size_t k = 0; k < l.x.size(); ++k) {
      const double e = k < l.err.size() && std::isfinite(l.err[k]) ? l.err[k] : 0.0;
      s << num(l.x[k]) << " " << num(l.y[k]) << " " << num(e) << "\n";
    }
  }
  return s.str();
}

std::string terminal(ImageFormat format, int w, int h) {
  std::ostringstream s;
  switch (format) {
    case ImageFormat::png:
      s << "set terminal pngcairo size " << w << "," << h
        << " enhanced font 'sans,11' linewidth 1.5\n";
      break;
    case ImageFormat::pdf:
      // A paper's figure: 900x600 becomes 6 x 4 inches with 9-point text.
      s << "set terminal pdfcairo size " << num(w / 150.0) << "in," << num(h / 150.0)
        << "in enhanced font 'sans,9' linewidth 1.2\n";
      break;
    case ImageFormat::svg:
      s << "set terminal svg size " << w << "," << h
        << " dynamic enhanced font 'sans,11' linewidth 1.5 background '#ffffff'\n";
      break;
  }
  return s.str();
}

std::string script(const Figure& f, ImageFormat format, const std::string& out,
                   const std::string& data) {
  std::ostringstream s;
  s << terminal(format, f.width, f.height);
  s << "set output " << quote(out) << "\n";
  s << "set encoding utf8\n";
  if (!f.title.empty()) s << "set title " << quote(f.title) << " noenhanced\n";
  s << "set xlabel " << quote(f.xlabel) << " noenhanced\n";
  s << "set ylabel " << quote(f.ylabel) << " noenhanced\n";
  if (f.heatmap) {
    const Heatmap& m = f.map;
    s << "set cblabel " << quote(m.zlabel) << " noenhanced\n";
    s << "set autoscale xfix\nset autoscale yfix\nset format x '%.4g'\nset format y '%.4g'\n";
    s << "set format cb '%.4g'\nset tics out nomirror\n";
    // viridis: readable in grey and by colour-blind readers.
    s << "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', "
         "4 '#fde725')\n";
    s << "plot " << quote(data) << " matrix using (" << num(m.x0) << "+$1*(" << num(m.dx) << ")):("
      << num(m.y0) << "+$2*(" << num(m.dy) << ")):3 with image notitle\n";
    s << "set output\n";
    return s.str();
  }
  s << "set grid lc rgb '#dddddd'\n";
  // Outside the plotting area the legend can never cover data.
  if (f.lines.size() > 1)
    s << "set key outside right top vertical Left reverse noenhanced\n";
  else
    s << "set key outside below center horizontal noenhanced\n";
  if (f.logx) s << "set logscale x\n";
  if (f.logy) s << "set logscale y\n";
  s << "set format y " << (f.logy ? "'10^{%L}'" : "'%.4g'") << "\n";
  // Log autoscaling widens the range to whole decades; fix it to the data (offsets add a margin).
  if (f.logx && f.xtics.empty()) s << "set autoscale xfix\n";
  if (f.logy) s << "set autoscale yfix\n";
  if (!f.xtics.empty()) {
    s << "set xtics noenhanced (";
    for (std::size_t i = 0; i < f.xtics.size(); ++i)
      s << (i ? ", " : "") << quote(tic_text(f.xtics[i].second)) << " " << num(f.xtics[i].first);
    s << ")\n";
    s << "set xrange [" << num(f.xtics.front().first - 0.5) << ":"
      << num(f.xtics.back().first + 0.5) << "]\n";
  } else {
    if (f.band)
      s << "set autoscale xfix\nset offsets 0, 0, graph 0.05, graph 0.05\n";
    else
      s << "set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\n";
    if (!f.x_values.empty()) {
      s << "set xtics (";
      for (std::size_t i = 0; i < f.x_values.size(); ++i)
        s << (i ? ", " : "") << quote(tic_label(f.x_values[i])) << " " << num(f.x_values[i]);
      s << ")\n";
    } else {
      s << "set format x " << (f.logx ? "'10^{%L}'" : "'%.4g'") << "\n";
    }
  }
  s << "plot ";
  for (std::size_t i = 0; i < f.lines.size(); ++i) {
    const std::string src = quote(data) + " index " + std::to_string(i);
    const std::string lc = " lc " + std::to_string(i + 1);
    const std::string title = " title " + quote(f.lines[i].title) + " noenhanced";
    if (i) s << ", \\\n     ";
    if (f.band) {
      // ± se band, clipped above zero on a log axis.
      const std::string low = f.logy ? "($2-$3 > 0 ? $2-$3 : $2)" : "($2-$3)";
      s << src << " using 1:" << low << ":($2+$3) with filledcurves fs transparent solid 0.2 "
        << "noborder" << lc << " notitle, \\\n     ";
      s << src << " using 1:2 with lines lw 2" << lc << title;
      continue;
    }
    switch (f.style) {
      case PlotStyle::points:
        s << src << " using 1:2:3 with yerrorbars pt 7 ps 0.8" << lc << title;
        break;
      case PlotStyle::lines: s << src << " using 1:2 with lines lw 2" << lc << title; break;
      case PlotStyle::linespoints:
        s << src << " using 1:2:3 with yerrorlines lw 2 pt 7 ps 1" << lc << title;
        break;
    }
  }
  s << "\nset output\n";
  return s.str();
}
}  // namespace

void require_gnuplot() {
  const std::string prog = gnuplot_program();
  if (prog.find('/') != std::string::npos) {
    if (access(prog.c_str(), X_OK) != 0)
      throw error(std::string(install_hint) + " (" + prog + " is not executable)");
    return;
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && access((dir + "/" + prog).c_str(), X_OK) == 0) return;
  throw error(install_hint);
}

void render(const Figure& f, const std::string& path, const std::string& protect) {
  const ImageFormat format = image_format(path, "-o");
  check_replaceable(path, OutputKind::image, protect, "-o");
  require_gnuplot();
  if (f.heatmap ? f.map.rows * f.map.cols == 0 || f.map.z.size() != f.map.rows * f.map.cols
                : f.lines.empty())
    throw internal_error("render: a figure without data");
  PendingFile target(path, OutputKind::image, protect, "-o");
  TempFile script_file(".gp"), data_file(".dat"), log_file(".log");
  auto write = [](const std::string& file, const std::string& text) {
    std::ofstream out(file);
    out << text;
    if (!out) throw error("cannot write the temporary file " + file);
  };
  write(data_file.path(), data_text(f));
  write(script_file.path(), script(f, format, target.path(), data_file.path()));
  const int rc = run_gnuplot(script_file.path(), log_file.path());
  if (rc < 0) throw error(install_hint);
  std::error_code ec;
  if (rc != 0 || std::filesystem::file_size(target.path(), ec) == 0 || ec)
    throw error("gnuplot failed to draw " + path + ": " + first_error_line(log_file.path()));
  target.commit();
}

}  // namespace mpisweep::cli

// Rendering figures with gnuplot (pngcairo): data goes inline as datablocks, so one script file
// is all gnuplot reads.
#include "gnuplot.hpp"

#include <mpisweep/core/error.hpp>

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

const char* install_hint = "gnuplot is needed to draw figures; install it (Debian/Ubuntu: "
                           "apt-get install gnuplot-nox) or set MPISWEEP_GNUPLOT to its path";

std::string gnuplot_program() {
  const char* p = std::getenv("MPISWEEP_GNUPLOT");
  return p && *p ? p : "gnuplot";
}

// gnuplot's double-quoted strings take backslash escapes; titles are printed with noenhanced so
// underscores stay underscores.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
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
    std::string tmpl = (std::filesystem::temp_directory_path() / "mpisweep-XXXXXX").string() + suffix;
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
  std::vector<char*> argv{const_cast<char*>(prog.c_str()), const_cast<char*>(script_path.c_str()),
                          nullptr};
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

std::string script(const Figure& f, const std::string& out) {
  std::ostringstream s;
  s << "set terminal pngcairo size " << f.width << "," << f.height
    << " enhanced font \"sans,11\" linewidth 1.5\n";
  s << "set output " << quote(out) << "\n";
  s << "set encoding utf8\n";
  if (!f.title.empty()) s << "set title " << quote(f.title) << " noenhanced\n";
  s << "set xlabel " << quote(f.xlabel) << " noenhanced\n";
  s << "set ylabel " << quote(f.ylabel) << " noenhanced\n";
  s << "set grid lc rgb \"#dddddd\"\n";
  s << "set key top right opaque box lc rgb \"#aaaaaa\"\n";
  if (f.logx) s << "set logscale x\n" << (f.x_values.empty() ? "set format x \"10^{%L}\"\n" : "");
  if (f.logy) s << "set logscale y\nset format y \"10^{%L}\"\n";
  // Log autoscaling widens the range to whole decades; fix it to the data (offsets add a margin).
  if (f.logx && f.xtics.empty()) s << "set autoscale xfix\n";
  if (f.logy) s << "set autoscale yfix\n";
  if (!f.xtics.empty()) {
    s << "set xtics (";
    for (std::size_t i = 0; i < f.xtics.size(); ++i)
      s << (i ? ", " : "") << quote(f.xtics[i].second) << " " << num(f.xtics[i].first);
    s << ")\n";
    s << "set xrange [" << num(f.xtics.front().first - 0.5) << ":"
      << num(f.xtics.back().first + 0.5) << "]\n";
  } else if (f.band) {
    s << "set autoscale xfix\nset offsets 0, 0, graph 0.05, graph 0.05\n";
  } else {
    s << "set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\n";
    if (!f.x_values.empty()) {
      s << "set xtics (";
      for (std::size_t i = 0; i < f.x_values.size(); ++i) s << (i ? ", " : "") << num(f.x_values[i]);
      s << ")\n";
    }
  }
  for (std::size_t i = 0; i < f.lines.size(); ++i) {
    const auto& l = f.lines[i];
    s << "$d" << i << " << EOD\n";
    for (std::size_t k = 0; k < l.x.size(); ++k) {
      const double e = k < l.err.size() && std::isfinite(l.err[k]) ? l.err[k] : 0.0;
      s << num(l.x[k]) << " " << num(l.y[k]) << " " << num(e) << "\n";
    }
    s << "EOD\n";
  }
  s << "plot ";
  for (std::size_t i = 0; i < f.lines.size(); ++i) {
    const auto& l = f.lines[i];
    const std::string lc = " lc " + std::to_string(i + 1);
    if (i) s << ", \\\n     ";
    if (f.band) {
      // ± se band, clipped above zero on a log axis.
      const std::string low = f.logy ? "($2-$3 > 0 ? $2-$3 : $2)" : "($2-$3)";
      s << "$d" << i << " using 1:" << low << ":($2+$3) with filledcurves fs transparent solid 0.2 "
        << "noborder" << lc << " notitle, \\\n     ";
      s << "$d" << i << " using 1:2 with lines lw 2" << lc << " title " << quote(l.title)
        << " noenhanced";
    } else {
      s << "$d" << i << " using 1:2:3 with yerrorlines lw 2 pt 7 ps 1" << lc << " title "
        << quote(l.title) << " noenhanced";
    }
  }
  s << "\nset output\n";
  return s.str();
}

}  // namespace

void require_gnuplot() {
  const std::string prog = gnuplot_program();
  if (prog.find('/') != std::string::npos) {
    if (access(prog.c_str(), X_OK) != 0) throw error(std::string(install_hint) + " (" + prog + " is not executable)");
    return;
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && access((dir + "/" + prog).c_str(), X_OK) == 0) return;
  throw error(install_hint);
}

void render_png(const Figure& f, const std::string& path) {
  require_gnuplot();
  if (f.lines.empty()) throw internal_error("render_png: a figure without lines");
  TempFile script_file(".gp"), log_file(".log");
  {
    std::ofstream out(script_file.path());
    out << script(f, path);
    if (!out) throw error("cannot write the gnuplot script " + script_file.path());
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
  const int rc = run_gnuplot(script_file.path(), log_file.path());
  if (rc < 0) throw error(install_hint);
  if (rc != 0 || !std::filesystem::exists(path) || std::filesystem::file_size(path, ec) == 0)
    throw error("gnuplot failed to draw " + path + ": " + first_error_line(log_file.path()));
}

}  // namespace mpisweep::cli

// The archive writer (master only). Design:
//  - Every /tasks and /series offset/length column is mirrored in memory (typed vectors, strings
//    as indices into small tables, errors sparse), so record() is O(1) and flush() can rewrite
//    whole chunks without reading them back. 1M rows cost ~100 bytes each plus params/metrics.
//  - Dirty rows are tracked per chunk (fmt::task_chunk rows) and per kind of column: id, seed and
//    params change only when rows are added, the outcome columns when a row is recorded (new rows
//    hold exactly the datasets' fill values there, so they are not written), the error column
//    only when an error is set or cleared. flush() rewrites only dirty chunks of each column,
//    merged into ranges, so a straggler far behind the frontier rewrites one chunk, not a column.
//  - flush() is two-phase for crash safety: (1) series values, then every column except id and
//    status, H5Fflush; (2) id and status, H5Fflush. A row whose status says done therefore has its
//    metrics on disk, and a row whose id is set has its params on disk. A kill between phases
//    leaves rows with id 0 (the fill value) at the end; open() cuts the table at the first such row.
//  - All structure is created before SWMR starts (HDF5 1.10 forbids new objects afterwards).
#include "format.hpp"

#include <mpisweep/core/text.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <limits>
#include <unordered_map>

#ifndef MPISWEEP_VERSION
#define MPISWEEP_VERSION "0.1.0"
#endif

extern char** environ;

namespace mpisweep::archive {

namespace fs = std::filesystem;

namespace {

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();
constexpr hsize_t chunk = fmt::task_chunk;

// Interned strings (hosts, choices): rows hold a small index instead of a heap string.
struct StringTable {
  std::vector<std::string> strings;
  std::unordered_map<std::string, std::uint32_t> index;
  std::uint32_t intern(const std::string& s) {
    auto [it, inserted] = index.try_emplace(s, static_cast<std::uint32_t>(strings.size()));
    if (inserted) strings.push_back(s);
    return it->second;
  }
};

struct ParamStore {
  ParamType type = ParamType::real;

  bool accepts(const Value& v) const {
    switch (type) {
      case ParamType::boolean: return std::holds_alternative<bool>(v);
      case ParamType::integer: return std::holds_alternative<std::int64_t>(v);
      case ParamType::real:
        return std::holds_alternative<double>(v) || std::holds_alternative<std::int64_t>(v);
      case ParamType::choice: return std::holds_alternative<std::string>(v);
    }
    return false;
  }
  std::size_t str_size = 1;
  std::vector<std::int8_t> bools;
  std::vector<std::int64_t> ints;
  std::vector<double> reals;
  std::vector<std::uint32_t> choices;
  StringTable table;

  void push(const Value& v, const std::string& name) {
    switch (type) {
      case ParamType::boolean:
        if (!std::holds_alternative<bool>(v)) break;
        bools.push_back(std::get<bool>(v) ? 1 : 0);
        return;
      case ParamType::integer:
        if (!std::holds_alternative<std::int64_t>(v)) break;
        ints.push_back(std::get<std::int64_t>(v));
        return;
      case ParamType::real:
        if (std::holds_alternative<double>(v)) {
          reals.push_back(std::get<double>(v));
          return;
        }
        if (std::holds_alternative<std::int64_t>(v)) {
          reals.push_back(static_cast<double>(std::get<std::int64_t>(v)));
          return;
        }
        break;
      case ParamType::choice:
        if (!std::holds_alternative<std::string>(v)) break;
        choices.push_back(table.intern(std::get<std::string>(v)));
        return;
    }
    throw internal_error("archive: task parameter '" + name + "' has the wrong type");
  }
};

struct SeriesStore {
  std::vector<std::int64_t> offset, length;
  std::int64_t total = 0;          // values on disk
  std::vector<double> pending;     // values appended by record() since the last flush
  h5::Dataset values;
};

// The kinds of change a chunk of rows can have since the last flush.
enum Dirty : int { added = 0, recorded = 1, errored = 2, dirty_kinds = 3 };

// One /tasks-aligned column: `gather` copies rows [first, first+count) into a buffer of the
// column's memory type.
struct Column {
  std::string name;
  h5::Dataset ds;
  h5::Datatype mem_type;
  std::size_t elem = 0;
  bool phase2 = false;
  int kind = 0;  // which dirty map: Dirty::added, recorded or error
  hsize_t extent = 0;
  std::function<void(std::size_t, std::size_t, unsigned char*)> gather;
};

template <class T>
std::function<void(std::size_t, std::size_t, unsigned char*)> gather_vector(const std::vector<T>& v) {
  return [&v](std::size_t first, std::size_t count, unsigned char* out) {
    std::memcpy(out, v.data() + first, count * sizeof(T));
  };
}

h5::File open_file(const std::string& path, unsigned flags) {
  h5::PropList fapl = h5::file_access(true);
  return h5::File(h5::check(H5Fopen(path.c_str(), flags, fapl.id()), "open archive " + path));
}

// Marks a live writer. HDF5 drops its own file lock once SWMR writing starts, and a killed
// writer's status flags look exactly like a live writer's, so without this a second `run` would
// clear the flags of a file that is still being written and corrupt it. The writer holds an
// open-file-description lock on one byte far past the end of the archive: readers never touch it,
// it does not interact with HDF5's flock on local file systems, and the kernel drops it when the
// process dies (kill -9 included).
class LiveLock {
 public:
  static constexpr off_t offset = off_t{1} << 62;
  LiveLock() = default;
  LiveLock(const LiveLock&) = delete;
  LiveLock& operator=(const LiveLock&) = delete;
  ~LiveLock() { release(); }

  // True when another process holds the lock (a live writer). False when free or when the file
  // system cannot tell (no fcntl locks): then there is no protection, as with HDF5's own locking
  // switched off.
  static bool held_elsewhere(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct flock fl = request(F_WRLCK);
    bool held = ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    ::close(fd);
    return held;
  }
  // False if another process holds it.
  bool acquire(const std::string& path) {
    release();
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) return true;
    struct flock fl = request(F_WRLCK);
    if (::fcntl(fd_, F_OFD_SETLK, &fl) == 0) return true;
    const int e = errno;
    release();
    return !(e == EAGAIN || e == EACCES);
  }
  void release() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  static struct flock request(short type) {
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = offset;
    fl.l_len = 1;
    return fl;
  }
  int fd_ = -1;
};

// Runs `h5clear -s path` (hdf5-tools) with its output discarded.
bool run_h5clear(const std::string& path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::string a0 = "h5clear", a1 = "-s";
  std::string a2 = path;
  char* argv[] = {a0.data(), a1.data(), a2.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "h5clear", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Opens (with `flags`) a file whose superblock still carries the status flags of a killed writer,
// clearing them. HDF5 1.10 has no public call for it; h5clear sets the file-access property
// "clear_status_flags" (registered on every fapl, so the public H5Pset reaches it), which makes the
// open itself clear the flags. Fall back to running `h5clear -s` and opening again.
hid_t open_clearing_flags(const std::string& path, unsigned flags) {
  {
    h5::PropList fapl = h5::file_access(true);
    hbool_t yes = true;
    if (H5Pexist(fapl.id(), "clear_status_flags") > 0 &&
        H5Pset(fapl.id(), "clear_status_flags", &yes) >= 0) {
      hid_t f = H5Fopen(path.c_str(), flags, fapl.id());
      if (f >= 0) return f;
    }
    h5::take_error_stack();
  }
  if (!run_h5clear(path))
    throw archive_error(path + ": cannot clear the status flags left by a killed writer "
                        "(neither the clear_status_flags property nor `h5clear -s` worked)");
  h5::PropList fapl = h5::file_access(true);
  hid_t f = H5Fopen(path.c_str(), flags, fapl.id());
  if (f < 0) fmt::open_failed(path, h5::take_error_stack());
  return f;
}

void describe(hid_t obj, const std::string& unit, const std::string& help) {
  h5::set_attr(obj, "unit", unit);
  h5::set_attr(obj, "description", help);
}

// What a compacted copy keeps from the original file instead of the defaults.
struct Origin {
  std::string created, mpisweep_version;
  std::vector<std::size_t> choice_sizes;  // per parameter; 0 for non-choices
};

// Builds every group, dataset and attribute of a new archive (before SWMR).
void create_structure(hid_t file, const Layout& layout, const Origin* origin = nullptr) {
  h5::set_attr(file, "format", std::string(fmt::format_name));
  h5::set_attr(file, "format_version", std::int64_t{format_version});
  h5::set_attr(file, "mpisweep_version",
               origin ? origin->mpisweep_version : std::string(MPISWEEP_VERSION));
  h5::set_attr(file, "created", origin ? origin->created : utc_iso_time(unix_now()));

  {
    h5::Group sweep = h5::create_group(file, "sweep", false);
    h5::set_attr(sweep.id(), "name", layout.sweep_name);
    h5::set_attr(sweep.id(), "experiment", layout.experiment);
    h5::set_attr(sweep.id(), "spec_hash", layout.spec_hash);
    for (auto [name, text] : {std::pair{"spec_toml", &layout.spec_toml},
                              std::pair{"command_line", &layout.command_line}}) {
      h5::Datatype t = h5::string_type(text->size() + 1);
      h5::create_scalar(sweep.id(), name, t.id(), text->c_str());
    }
    // The standard figures, one group of attributes each (/sweep/plots/0, 1, ...), so `report`
    // draws them from the archive alone.
    h5::Group plots = h5::create_group(sweep.id(), "plots", true);
    for (std::size_t i = 0; i < layout.plots.size(); ++i) {
      const PlotSpec& p = layout.plots[i];
      h5::Group g = h5::create_group(plots.id(), std::to_string(i), false);
      for (auto [name, value] : {std::pair{"title", &p.title}, std::pair{"x", &p.x},
                                 std::pair{"y", &p.y}, std::pair{"group_by", &p.group_by},
                                 std::pair{"series", &p.series}})
        h5::set_attr(g.id(), name, *value);
      for (auto [name, flag] : {std::pair{"logx", p.logx}, std::pair{"logy", p.logy},
                                std::pair{"heatmap", p.heatmap}})
        h5::set_attr(g.id(), name, std::int64_t{flag ? 1 : 0});
    }
  }
  {
    h5::Group runs = h5::create_group(file, "runs", true);
    for (const auto& c : fmt::run_columns()) {
      h5::Datatype t = c.mem_type();
      h5::create_column(runs.id(), c.name, t.id(), fmt::runs_chunk, nullptr);
    }
  }
  {
    h5::Group tasks = h5::create_group(file, "tasks", true);
    const std::int8_t pending = 0;
    const std::int32_t minus_one = -1;
    auto col = [&](const char* name, hid_t type, const void* fill, const char* help) {
      h5::Dataset d = h5::create_column(tasks.id(), name, type, chunk, fill);
      h5::set_attr(d.id(), "description", std::string(help));
    };
    col("id", H5T_NATIVE_UINT64, nullptr, "task id: hash of experiment, parameters and seed");
    col("seed", H5T_NATIVE_UINT64, nullptr, "seed of the task");
    h5::Datatype st = h5::status_type();
    col("status", st.id(), &pending, "pending, done, failed or timeout");
    col("attempts", H5T_NATIVE_INT32, nullptr, "attempts made so far");
    col("worker", H5T_NATIVE_INT32, &minus_one, "MPI rank of the last attempt (-1: none)");
    h5::Datatype ht = h5::string_type(fmt::host_size);
    col("host", ht.id(), nullptr, "host of the last attempt");
    col("started", H5T_NATIVE_DOUBLE, &nan_value, "unix time the last attempt started");
    col("wall_seconds", H5T_NATIVE_DOUBLE, &nan_value, "wall time of the last attempt");
    h5::Datatype et = h5::string_type(fmt::error_size);
    col("error", et.id(), nullptr, "error of the last attempt (truncated), empty when done");

    h5::Group params = h5::create_group(tasks.id(), "params", true);
    for (std::size_t k = 0; k < layout.params.size(); ++k) {
      const auto& p = layout.params[k];
      h5::Datatype t = p.type == ParamType::choice && origin
                           ? h5::string_type(origin->choice_sizes.at(k))
                           : fmt::param_type(p);
      h5::Dataset d = h5::create_column(params.id(), p.name, t.id(), chunk, nullptr);
      describe(d.id(), p.unit, p.help);
      h5::set_attr(d.id(), "type", std::string(to_string(p.type)));
      if (p.type == ParamType::choice) h5::set_attr(d.id(), "choices", join(p.choices));
    }
    h5::Group metrics = h5::create_group(tasks.id(), "metrics", true);
    for (const auto& m : layout.metrics) {
      h5::Dataset d =
          h5::create_column(metrics.id(), m.name, H5T_NATIVE_DOUBLE, chunk, &nan_value);
      describe(d.id(), m.unit, m.help);
      h5::set_attr(d.id(), "timing", std::int64_t{m.timing ? 1 : 0});
    }
  }
  {
    h5::Group series = h5::create_group(file, "series", true);
    for (const auto& s : layout.series) {
      h5::Group g = h5::create_group(series.id(), s.name, true);
      describe(g.id(), s.unit, s.help);
      h5::set_attr(g.id(), "axis", s.axis);
      h5::set_attr(g.id(), "x_start", s.x_start);
      h5::set_attr(g.id(), "x_step", s.x_step);
      if (!s.shape.empty()) {
        h5::set_attr(g.id(), "shape", std::span<const std::int64_t>(s.shape));
        h5::set_attr(g.id(), "axes", join(s.axes));
      }
      h5::Dataset v =
          h5::create_column(g.id(), "values", H5T_NATIVE_DOUBLE, fmt::values_chunk, nullptr);
      describe(v.id(), s.unit, s.help);
      h5::set_attr(v.id(), "axis", s.axis);
      h5::Dataset o = h5::create_column(g.id(), "offset", H5T_NATIVE_INT64, chunk, nullptr);
      h5::set_attr(o.id(), "description", std::string("first index into values of each task row"));
      h5::Dataset l = h5::create_column(g.id(), "length", H5T_NATIVE_INT64, chunk, nullptr);
      h5::set_attr(l.id(), "description", std::string("number of values of each task row (0: absent)"));
    }
  }
}

// Checks that an existing archive belongs to the same sweep and has the same columns.
void validate(hid_t file, const std::string& path, const Layout& layout) {
  fmt::check_format(file, path);
  if (h5::get_attr_int(file, "format_version") > format_version)
    throw input_error(path, "archive format version " +
                                std::to_string(h5::get_attr_int(file, "format_version")) +
                                " is newer than this mpisweep understands (" +
                                std::to_string(format_version) + ")");
  h5::Group sweep = h5::open_group(file, "sweep");
  std::string name = h5::get_attr_string(sweep.id(), "name");
  std::string experiment = h5::get_attr_string(sweep.id(), "experiment");
  if (name != layout.sweep_name)
    throw input_error(path, "archive belongs to sweep '" + name + "', not '" +
                                layout.sweep_name + "' (use another --archive path)");
  if (experiment != layout.experiment)
    throw input_error(path, "archive holds experiment '" + experiment + "', not '" +
                                layout.experiment + "'");
  auto compare = [&](const char* what, const std::string& group,
                     const std::vector<std::string>& want) {
    h5::Group g = h5::open_group(file, group);
    std::vector<std::string> have = h5::children(g.id());
    if (have != want)
      throw input_error(path, std::string("archive ") + what + " [" + join(have) +
                                  "] differ from the sweep's [" + join(want) + "]");
  };
  std::vector<std::string> names;
  for (const auto& p : layout.params) names.push_back(p.name);
  compare("parameter columns", "tasks/params", names);
  names.clear();
  for (const auto& m : layout.metrics) names.push_back(m.name);
  compare("metric columns", "tasks/metrics", names);
  names.clear();
  for (const auto& s : layout.series) names.push_back(s.name);
  compare("series", "series", names);
  for (const auto& p : layout.params) {
    h5::Dataset d = h5::open_dataset(file, "tasks/params/" + p.name);
    h5::Datatype t = h5::dataset_type(d.id());
    ParamType have = fmt::param_type_of(t.id(), path, p.name);
    if (have != p.type)
      throw input_error(path, "parameter column '" + p.name + "' is " +
                                  std::string(to_string(have)) + ", the sweep says " +
                                  std::string(to_string(p.type)));
    if (p.type == ParamType::choice && H5Tget_size(t.id()) < fmt::choice_size(p))
      throw input_error(path, "parameter column '" + p.name +
                                  "' is too narrow for the sweep's choices");
  }
}

}  // namespace

struct Writer::Impl {
  std::string path;
  Layout layout;
  h5::File file;

  std::vector<RowState> rows;   // id, status, attempts columns
  std::vector<std::uint64_t> seeds;
  std::vector<std::int32_t> workers;
  std::vector<std::uint32_t> host_index;
  StringTable hosts;
  std::vector<double> started, wall;
  std::unordered_map<std::size_t, std::string> errors;  // sparse: non-empty only
  std::vector<ParamStore> params;
  std::vector<std::vector<double>> metrics;
  std::vector<SeriesStore> series;
  std::size_t run_count = 0;
  std::vector<h5::Dataset> run_ds;
  std::vector<h5::Datatype> run_types;

  std::vector<Column> columns;
  std::array<std::vector<std::uint8_t>, dirty_kinds> dirty;  // per kind, per chunk of rows
  bool any_dirty = false;
  hsize_t disk_rows = 0;
  std::vector<unsigned char> scratch;
  bool closed = false;
  LiveLock live;

  // Opens the file for SWMR writing and marks this process as its live writer.
  void open_swmr() {
    file = open_file(path, H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE);
    if (!live.acquire(path))
      throw archive_error(path + ": another mpisweep process is writing this archive");
    attach();
  }

  explicit Impl(std::string p, const Layout& l) : path(std::move(p)), layout(l) {
    hosts.intern("");
    params.resize(layout.params.size());
    for (std::size_t k = 0; k < params.size(); ++k) {
      const auto& spec = layout.params[k];
      params[k].type = spec.type;
      if (spec.type == ParamType::choice) {
        params[k].str_size = fmt::choice_size(spec);
        for (const auto& c : spec.choices) params[k].table.intern(c);
      }
    }
    metrics.resize(layout.metrics.size());
    series.resize(layout.series.size());
  }

  void check_open() const {
    if (closed) throw internal_error("archive: writer used after close()");
  }

  // Loads an existing archive's rows (file opened without SWMR) and cuts a torn tail.
  void load(hid_t f) {
    h5::Dataset id = h5::open_dataset(f, "tasks/id");
    hsize_t n = h5::extent(id.id());
    std::vector<std::uint64_t> ids(n);
    h5::read_rows(id.id(), H5T_NATIVE_UINT64, 0, n, ids.data());
    for (hsize_t i = 0; i < n; ++i)
      if (ids[i] == 0) {
        n = i;
        break;
      }
    // Every column must hold at least n rows; a kill during extension may have left fewer.
    std::vector<std::string> all = {"tasks/id", "tasks/seed", "tasks/status", "tasks/attempts",
                                    "tasks/worker", "tasks/host", "tasks/started",
                                    "tasks/wall_seconds", "tasks/error"};
    for (const auto& p : layout.params) all.push_back("tasks/params/" + p.name);
    for (const auto& m : layout.metrics) all.push_back("tasks/metrics/" + m.name);
    for (const auto& s : layout.series) {
      all.push_back("series/" + s.name + "/offset");
      all.push_back("series/" + s.name + "/length");
    }
    for (const auto& name : all) {
      h5::Dataset d = h5::open_dataset(f, name);
      n = std::min(n, h5::extent(d.id()));
    }
    for (const auto& name : all) {
      h5::Dataset d = h5::open_dataset(f, name);
      if (h5::extent(d.id()) != n) h5::set_extent(d.id(), n);
    }
    ids.resize(n);

    auto read = [&](const std::string& name, hid_t type, void* out) {
      h5::Dataset d = h5::open_dataset(f, name);
      h5::read_rows(d.id(), type, 0, n, out);
    };
    rows.resize(n);
    {
      std::vector<std::int8_t> st(n);
      std::vector<std::int32_t> at(n);
      read("tasks/status", H5T_NATIVE_INT8, st.data());
      read("tasks/attempts", H5T_NATIVE_INT32, at.data());
      for (hsize_t i = 0; i < n; ++i)
        rows[i] = {ids[i], static_cast<TaskStatus>(st[i]), at[i]};
    }
    seeds.resize(n);
    read("tasks/seed", H5T_NATIVE_UINT64, seeds.data());
    workers.resize(n);
    read("tasks/worker", H5T_NATIVE_INT32, workers.data());
    started.resize(n);
    read("tasks/started", H5T_NATIVE_DOUBLE, started.data());
    wall.resize(n);
    read("tasks/wall_seconds", H5T_NATIVE_DOUBLE, wall.data());
    // Strings in blocks: a full error column would be 512 bytes a row.
    auto read_strings = [&](const std::string& name, std::size_t size, auto&& each) {
      h5::Dataset d = h5::open_dataset(f, name);
      h5::Datatype t = h5::string_type(size);
      std::vector<char> buf(chunk * size);
      for (hsize_t first = 0; first < n; first += chunk) {
        hsize_t count = std::min<hsize_t>(chunk, n - first);
        h5::read_rows(d.id(), t.id(), first, count, buf.data());
        for (hsize_t i = 0; i < count; ++i)
          each(first + i, h5::unpack_string(buf.data() + i * size, size));
      }
    };
    host_index.resize(n);
    read_strings("tasks/host", fmt::host_size,
                 [&](hsize_t i, std::string s) { host_index[i] = hosts.intern(s); });
    read_strings("tasks/error", fmt::error_size, [&](hsize_t i, std::string s) {
      if (!s.empty()) errors.emplace(i, std::move(s));
    });
    for (std::size_t k = 0; k < params.size(); ++k) {
      auto& p = params[k];
      const std::string name = "tasks/params/" + layout.params[k].name;
      switch (p.type) {
        case ParamType::boolean:
          p.bools.resize(n);
          read(name, H5T_NATIVE_INT8, p.bools.data());
          break;
        case ParamType::integer:
          p.ints.resize(n);
          read(name, H5T_NATIVE_INT64, p.ints.data());
          break;
        case ParamType::real:
          p.reals.resize(n);
          read(name, H5T_NATIVE_DOUBLE, p.reals.data());
          break;
        case ParamType::choice: {
          h5::Dataset d = h5::open_dataset(f, name);
          h5::Datatype t = h5::dataset_type(d.id());
          p.str_size = H5Tget_size(t.id());
          d.reset();
          p.choices.resize(n);
          read_strings(name, p.str_size,
                       [&](hsize_t i, std::string s) { p.choices[i] = p.table.intern(s); });
          break;
        }
      }
    }
    for (std::size_t k = 0; k < metrics.size(); ++k) {
      metrics[k].resize(n);
      read("tasks/metrics/" + layout.metrics[k].name, H5T_NATIVE_DOUBLE, metrics[k].data());
    }
    for (std::size_t k = 0; k < series.size(); ++k) {
      const std::string g = "series/" + layout.series[k].name + "/";
      series[k].offset.resize(n);
      series[k].length.resize(n);
      read(g + "offset", H5T_NATIVE_INT64, series[k].offset.data());
      read(g + "length", H5T_NATIVE_INT64, series[k].length.data());
      h5::Dataset v = h5::open_dataset(f, g + "values");
      series[k].total = static_cast<std::int64_t>(h5::extent(v.id()));
    }
    // /runs: cut to the shortest column (a kill while appending a run row).
    hsize_t runs = std::numeric_limits<hsize_t>::max();
    std::vector<h5::Dataset> rds;
    for (const auto& c : fmt::run_columns()) {
      rds.push_back(h5::open_dataset(f, std::string("runs/") + c.name));
      runs = std::min(runs, h5::extent(rds.back().id()));
    }
    for (auto& d : rds)
      if (h5::extent(d.id()) != runs) h5::set_extent(d.id(), runs);
    run_count = runs;
    disk_rows = n;
  }

  // Opens every dataset of the (SWMR) file and wires the columns to the in-memory mirror.
  void attach() {
    hid_t f = file.id();
    columns.clear();
    auto add = [&](std::string name, h5::Datatype mem, bool phase2, auto gather,
                   int kind = Dirty::recorded) {
      Column c;
      c.ds = h5::open_dataset(f, name);
      c.extent = h5::extent(c.ds.id());
      c.elem = H5Tget_size(mem.id());
      c.mem_type = std::move(mem);
      c.phase2 = phase2;
      c.kind = kind;
      c.name = std::move(name);
      c.gather = std::move(gather);
      columns.push_back(std::move(c));
    };
    auto native = [](hid_t t) { return h5::copy_type(t); };
    add("tasks/id", native(H5T_NATIVE_UINT64), true,
        [this](std::size_t first, std::size_t count, unsigned char* out) {
          auto* o = reinterpret_cast<std::uint64_t*>(out);
          for (std::size_t i = 0; i < count; ++i) o[i] = rows[first + i].id;
        },
        Dirty::added);
    add("tasks/status", h5::status_type(), true,
        [this](std::size_t first, std::size_t count, unsigned char* out) {
          auto* o = reinterpret_cast<std::int8_t*>(out);
          for (std::size_t i = 0; i < count; ++i) o[i] = static_cast<std::int8_t>(rows[first + i].status);
        });
    add("tasks/attempts", native(H5T_NATIVE_INT32), false,
        [this](std::size_t first, std::size_t count, unsigned char* out) {
          auto* o = reinterpret_cast<std::int32_t*>(out);
          for (std::size_t i = 0; i < count; ++i) o[i] = rows[first + i].attempts;
        });
    add("tasks/seed", native(H5T_NATIVE_UINT64), false, gather_vector(seeds), Dirty::added);
    add("tasks/worker", native(H5T_NATIVE_INT32), false, gather_vector(workers));
    add("tasks/host", h5::string_type(fmt::host_size), false,
        [this](std::size_t first, std::size_t count, unsigned char* out) {
          for (std::size_t i = 0; i < count; ++i)
            h5::pack_string(hosts.strings[host_index[first + i]],
                            reinterpret_cast<char*>(out) + i * fmt::host_size, fmt::host_size);
        });
    add("tasks/started", native(H5T_NATIVE_DOUBLE), false, gather_vector(started));
    add("tasks/wall_seconds", native(H5T_NATIVE_DOUBLE), false, gather_vector(wall));
    add("tasks/error", h5::string_type(fmt::error_size), false,
        [this](std::size_t first, std::size_t count, unsigned char* out) {
          std::memset(out, 0, count * fmt::error_size);
          if (errors.empty()) return;
          // Few rows fail: scan the map when it is small, else look each row up.
          if (errors.size() < count) {
            for (const auto& [row, msg] : errors)
              if (row >= first && row < first + count)
                h5::pack_string(msg, reinterpret_cast<char*>(out) + (row - first) * fmt::error_size,
                                fmt::error_size);
          } else {
            for (std::size_t i = 0; i < count; ++i)
              if (auto it = errors.find(first + i); it != errors.end())
                h5::pack_string(it->second, reinterpret_cast<char*>(out) + i * fmt::error_size,
                                fmt::error_size);
          }
        },
        Dirty::errored);
    for (std::size_t k = 0; k < params.size(); ++k) {
      auto& p = params[k];
      std::string name = "tasks/params/" + layout.params[k].name;
      switch (p.type) {
        case ParamType::boolean:
          add(name, h5::bool_type(), false, gather_vector(p.bools), Dirty::added);
          break;
        case ParamType::integer:
          add(name, native(H5T_NATIVE_INT64), false, gather_vector(p.ints), Dirty::added);
          break;
        case ParamType::real:
          add(name, native(H5T_NATIVE_DOUBLE), false, gather_vector(p.reals), Dirty::added);
          break;
        case ParamType::choice:
          add(name, h5::string_type(p.str_size), false,
              [&p](std::size_t first, std::size_t count, unsigned char* out) {
                for (std::size_t i = 0; i < count; ++i)
                  h5::pack_string(p.table.strings[p.choices[first + i]],
                                  reinterpret_cast<char*>(out) + i * p.str_size, p.str_size);
              },
              Dirty::added);
          break;
      }
    }
    for (std::size_t k = 0; k < metrics.size(); ++k)
      add("tasks/metrics/" + layout.metrics[k].name, native(H5T_NATIVE_DOUBLE), false,
          gather_vector(metrics[k]));
    for (std::size_t k = 0; k < series.size(); ++k) {
      std::string g = "series/" + layout.series[k].name + "/";
      add(g + "offset", native(H5T_NATIVE_INT64), false, gather_vector(series[k].offset));
      add(g + "length", native(H5T_NATIVE_INT64), false, gather_vector(series[k].length));
      series[k].values = h5::open_dataset(f, g + "values");
    }
    run_ds.clear();
    run_types.clear();
    for (const auto& c : fmt::run_columns()) {
      run_ds.push_back(h5::open_dataset(f, std::string("runs/") + c.name));
      run_types.push_back(c.mem_type());
    }
    for (auto& d : dirty) d.assign((rows.size() + chunk - 1) / chunk, 0);
  }

  void mark(std::size_t row, int kind) {
    dirty[kind][row / chunk] = 1;
    any_dirty = true;
  }

  void write_phase(bool phase2, hsize_t n) {
    for (auto& c : columns) {
      if (c.phase2 != phase2) continue;
      if (c.extent != n) {
        h5::set_extent(c.ds.id(), n);
        c.extent = n;
      }
    }
    for (auto& c : columns) {
      if (c.phase2 != phase2) continue;
      const auto& d = dirty[c.kind];
      for (std::size_t c0 = 0; c0 < d.size();) {
        if (!d[c0]) {
          ++c0;
          continue;
        }
        std::size_t c1 = c0;
        while (c1 < d.size() && d[c1]) ++c1;
        const std::size_t first = c0 * chunk;
        const std::size_t count = std::min<std::size_t>(c1 * chunk, n) - first;
        // Whole chunks at a time, at most ~4 MiB of scratch (the error column is 256 B a row).
        const std::size_t block = chunk * std::max<std::size_t>(1, (std::size_t{4} << 20) / (chunk * c.elem));
        for (std::size_t b = first; b < first + count; b += block) {
          const std::size_t m = std::min(block, first + count - b);
          scratch.resize(m * c.elem);
          c.gather(b, m, scratch.data());
          h5::write_rows(c.ds.id(), c.mem_type.id(), b, m, scratch.data());
        }
        c0 = c1;
      }
    }
  }

  void flush() {
    check_open();
    h5::quiet();  // per thread in this (thread-safe) HDF5 build: the caller's thread may be new
    bool values = false;
    for (const auto& s : series) values = values || !s.pending.empty();
    if (!any_dirty && !values && disk_rows == rows.size()) return;
    for (auto& s : series) {
      if (s.pending.empty()) continue;
      hsize_t total = static_cast<hsize_t>(s.total) + s.pending.size();
      h5::set_extent(s.values.id(), total);
      h5::write_rows(s.values.id(), H5T_NATIVE_DOUBLE, static_cast<hsize_t>(s.total),
                     s.pending.size(), s.pending.data());
      s.total = static_cast<std::int64_t>(total);
      s.pending.clear();
    }
    const hsize_t n = rows.size();
    write_phase(false, n);
    h5::check(H5Fflush(file.id(), H5F_SCOPE_LOCAL), "H5Fflush");
    write_phase(true, n);
    h5::check(H5Fflush(file.id(), H5F_SCOPE_LOCAL), "H5Fflush");
    for (auto& d : dirty) std::fill(d.begin(), d.end(), 0);
    any_dirty = false;
    disk_rows = n;
  }

  void write_run(std::size_t row, const RunRecord& r) {
    h5::quiet();
    const auto& cols = fmt::run_columns();
    std::vector<unsigned char> buf;
    for (std::size_t k = 0; k < cols.size(); ++k) {
      buf.assign(cols[k].elem_size(), 0);
      cols[k].get(r, buf.data());
      if (h5::extent(run_ds[k].id()) < row + 1) h5::set_extent(run_ds[k].id(), row + 1);
      h5::write_rows(run_ds[k].id(), run_types[k].id(), row, 1, buf.data());
    }
    h5::check(H5Fflush(file.id(), H5F_SCOPE_LOCAL), "H5Fflush");
  }

  RunRecord read_run(std::size_t row) {
    h5::quiet();
    const auto& cols = fmt::run_columns();
    RunRecord r;
    std::vector<unsigned char> buf;
    for (std::size_t k = 0; k < cols.size(); ++k) {
      buf.assign(cols[k].elem_size(), 0);
      h5::read_rows(run_ds[k].id(), run_types[k].id(), row, 1, buf.data());
      cols[k].set(r, buf.data());
    }
    return r;
  }

  void release() {
    columns.clear();
    run_ds.clear();
    for (auto& s : series) s.values.reset();
  }

  // Bytes the datasets use; the rest of the file is space SWMR never reuses (below).
  hsize_t live_bytes() const {
    hsize_t bytes = 0;
    for (const auto& c : columns) bytes += H5Dget_storage_size(c.ds.id());
    for (const auto& s : series) bytes += H5Dget_storage_size(s.values.id());
    for (const auto& d : run_ds) bytes += H5Dget_storage_size(d.id());
    return bytes;
  }

  void close() {
    if (closed) return;
    h5::quiet();
    flush();
    hsize_t file_size = 0;
    h5::check(H5Fget_filesize(file.id(), &file_size), "H5Fget_filesize");
    const hsize_t live_size = live_bytes();
    release();
    closed = true;
    live.release();
    file.close("close archive " + path);
    // In SWMR mode HDF5 1.10 never reuses freed file space (a reader may still be reading it), so
    // every rewrite of a compressed chunk leaks its old copy: a slow sweep flushing every second
    // grows the file by a few KB a flush. Once the run ends, rewrite the file compactly.
    if (file_size > 2 * live_size + (std::uint64_t{1} << 20)) compact();
  }

  // Writes the whole archive afresh under a temporary name from the in-memory mirror (plus the
  // series values, /runs and /sweep read from the old file), then renames it over the old one. A
  // kill meanwhile leaves the old file intact.
  void compact() {
    fs::path target(path);
    fs::path tmp = target.parent_path() /
                   ("." + target.filename().string() + ".compact." + std::to_string(getpid()));
    std::error_code ec;
    fs::remove(tmp, ec);
    try {
      h5::PropList fapl = h5::file_access(true);
      h5::File old(h5::check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.id()),
                             "open archive " + path));
      Origin origin;
      origin.created = h5::get_attr_string(old.id(), "created");
      origin.mpisweep_version = h5::get_attr_string(old.id(), "mpisweep_version");
      for (const auto& p : params) origin.choice_sizes.push_back(p.str_size);
      Layout kept = layout;
      {
        h5::Group sweep = h5::open_group(old.id(), "sweep");
        kept.spec_toml = h5::read_scalar_string(sweep.id(), "spec_toml");
        kept.command_line = h5::read_scalar_string(sweep.id(), "command_line");
        kept.spec_hash = h5::get_attr_uint(sweep.id(), "spec_hash");
      }
      file = h5::File(h5::check(H5Fcreate(tmp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.id()),
                                "create archive " + tmp.string()));
      create_structure(file.id(), kept, &origin);
      closed = false;
      attach();
      // /runs rows, read from the old file.
      std::vector<h5::Dataset> new_runs = std::move(run_ds);
      run_ds.clear();
      for (const auto& c : fmt::run_columns())
        run_ds.push_back(h5::open_dataset(old.id(), std::string("runs/") + c.name));
      std::vector<RunRecord> runs;
      for (std::size_t r = 0; r < run_count; ++r) runs.push_back(read_run(r));
      run_ds = std::move(new_runs);
      for (std::size_t r = 0; r < runs.size(); ++r) write_run(r, runs[r]);
      // Series values, copied as they are so the offsets stay valid.
      std::vector<double> buf;
      for (std::size_t k = 0; k < series.size(); ++k) {
        h5::Dataset from = h5::open_dataset(old.id(), "series/" + layout.series[k].name + "/values");
        const hsize_t total = static_cast<hsize_t>(series[k].total);
        h5::set_extent(series[k].values.id(), total);
        const hsize_t block = std::size_t{1} << 20;
        for (hsize_t first = 0; first < total; first += block) {
          hsize_t count = std::min(block, total - first);
          buf.resize(count);
          h5::read_rows(from.id(), H5T_NATIVE_DOUBLE, first, count, buf.data());
          h5::write_rows(series[k].values.id(), H5T_NATIVE_DOUBLE, first, count, buf.data());
        }
      }
      for (auto& d : dirty) std::fill(d.begin(), d.end(), 1);
      any_dirty = true;
      disk_rows = 0;
      flush();
      release();
      closed = true;
      file.close("close compacted archive " + tmp.string());
      old.close("close archive " + path);
      fs::rename(tmp, target);
    } catch (...) {
      release();
      file.reset();
      closed = true;
      fs::remove(tmp, ec);
      throw;
    }
  }
};

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Writer::Writer(Writer&&) noexcept = default;
Writer& Writer::operator=(Writer&& o) noexcept {
  if (this != &o) {
    if (impl_ && !impl_->closed) {
      try {
        impl_->close();
      } catch (...) {
      }
    }
    impl_ = std::move(o.impl_);
  }
  return *this;
}
Writer::~Writer() {
  if (impl_ && !impl_->closed) {
    try {
      impl_->close();
    } catch (...) {
      // Destructors never throw; the rows of the last flush are on disk and the flags are
      // cleared by the next open.
    }
  }
}

Writer Writer::create(const std::string& path, const Layout& layout) {
  h5::quiet();
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec)))
    throw input_error(path, "archive already exists (move or delete it, or resume without --fresh)");
  fs::path target(path);
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw input_error(path, "cannot create folder: " + ec.message());
  }
  // Same folder, so the rename is atomic; a kill during creation leaves only this name behind.
  fs::path tmp = target.parent_path() /
                 ("." + target.filename().string() + ".creating." + std::to_string(getpid()));
  fs::remove(tmp, ec);
  try {
    h5::PropList fapl = h5::file_access(true);
    h5::File f(h5::check(H5Fcreate(tmp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.id()),
                         "create archive " + tmp.string()));
    create_structure(f.id(), layout);
    f.close("close new archive " + tmp.string());
    // link() refuses to replace an existing file, so two runs racing to create cannot clobber.
    if (::link(tmp.c_str(), path.c_str()) == 0) {
      fs::remove(tmp, ec);
    } else if (errno == EEXIST) {
      fs::remove(tmp, ec);
      throw input_error(path, "archive already exists");
    } else {
      fs::rename(tmp, target);  // file systems without hard links
    }
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  auto impl = std::make_unique<Impl>(path, layout);
  impl->open_swmr();
  return Writer(std::move(impl));
}

Writer Writer::open(const std::string& path, const Layout& layout) {
  h5::quiet();
  std::error_code ec;
  if (!fs::exists(path, ec)) throw input_error(path, "no such archive");
  if (!h5::is_hdf5(path)) throw input_error(path, "not an HDF5 file (so not an mpisweep archive)");
  // The status flags are set while a writer is alive too: only a dead writer's may be cleared.
  if (LiveLock::held_elsewhere(path))
    throw archive_error(path + ": another mpisweep process is writing this archive (wait for it "
                               "to finish or stop it first)");
  // Everything happens in SWMR-write mode, flags cleared in the same open: a plain read-write open
  // would mark the file "open for write, not SWMR", and a kill in that window would leave a file
  // that SWMR readers (status, h5py swmr=True) refuse until h5clear.
  auto impl = std::make_unique<Impl>(path, layout);
  h5::PropList fapl = h5::file_access(true);
  const unsigned flags = H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE;
  hid_t f = H5Fopen(path.c_str(), flags, fapl.id());
  if (f < 0) {
    std::string stack = h5::take_error_stack();
    if (!fmt::is_status_flag_error(stack)) {
      // Not a killed writer's file: a foreign HDF5 file (no SWMR superblock) says so here.
      h5::PropList plain = h5::file_access(false);
      hid_t ro = H5Fopen(path.c_str(), H5F_ACC_RDONLY, plain.id());
      if (ro >= 0) {
        h5::File file(ro);
        fmt::check_format(file.id(), path);
      }
      h5::take_error_stack();
      fmt::open_failed(path, stack);
    }
    f = open_clearing_flags(path, flags);
  }
  impl->file = h5::File(f);
  if (!impl->live.acquire(path))
    throw archive_error(path + ": another mpisweep process is writing this archive");
  validate(f, path, layout);
  impl->load(f);
  impl->attach();
  return Writer(std::move(impl));
}

const std::vector<RowState>& Writer::rows() const { return impl_->rows; }

std::size_t Writer::add_tasks(std::span<const TaskDef> tasks) {
  auto& m = *impl_;
  m.check_open();
  const std::size_t first = m.rows.size();
  for (const auto& t : tasks) {
    if (t.id == 0) throw internal_error("archive: task id 0 is reserved (the fill value)");
    if (t.params.size() != m.params.size())
      throw internal_error("archive: task has " + std::to_string(t.params.size()) +
                           " parameters, the layout " + std::to_string(m.params.size()));
    // Checked before anything is appended, so a bad task leaves the columns aligned.
    for (std::size_t k = 0; k < m.params.size(); ++k) {
      if (!m.params[k].accepts(t.params[k]))
        throw internal_error("archive: task parameter '" + m.layout.params[k].name +
                             "' has the wrong type");
      if (m.params[k].type == ParamType::choice &&
          std::get<std::string>(t.params[k]).size() >= m.params[k].str_size)
        throw internal_error("archive: value of choice parameter '" + m.layout.params[k].name +
                             "' is longer than its column");
    }
  }
  for (const auto& t : tasks) {
    m.rows.push_back({t.id, TaskStatus::pending, 0});
    m.seeds.push_back(t.seed);
    m.workers.push_back(-1);
    m.host_index.push_back(0);
    m.started.push_back(nan_value);
    m.wall.push_back(nan_value);
    for (std::size_t k = 0; k < m.params.size(); ++k)
      m.params[k].push(t.params[k], m.layout.params[k].name);
    for (auto& col : m.metrics) col.push_back(nan_value);
    for (auto& s : m.series) {
      s.offset.push_back(0);
      s.length.push_back(0);
    }
  }
  for (auto& d : m.dirty) d.resize((m.rows.size() + chunk - 1) / chunk, 0);
  for (std::size_t r = first; r < m.rows.size(); r += chunk) m.mark(r, Dirty::added);
  if (m.rows.size() > first) m.mark(m.rows.size() - 1, Dirty::added);
  return first;
}

void Writer::record(std::size_t row, const TaskOutcome& o) {
  auto& m = *impl_;
  m.check_open();
  if (row >= m.rows.size()) throw internal_error("archive: record() of a row that does not exist");
  if (o.metrics.size() > m.metrics.size() || o.series.size() > m.series.size())
    throw internal_error("archive: outcome has more metrics or series than the layout");
  auto& r = m.rows[row];
  r.status = o.status;
  r.attempts = o.attempts;
  m.workers[row] = o.worker;
  m.host_index[row] = m.hosts.intern(o.host.size() >= fmt::host_size ? o.host.substr(0, fmt::host_size - 1) : o.host);
  m.started[row] = o.started;
  m.wall[row] = o.wall_seconds;
  if (o.error.empty()) {
    if (!m.errors.empty() && m.errors.erase(row) > 0) m.mark(row, Dirty::errored);
  } else {
    m.errors[row] = o.error.substr(0, fmt::error_size);
    m.mark(row, Dirty::errored);
  }
  for (std::size_t k = 0; k < m.metrics.size(); ++k)
    m.metrics[k][row] = k < o.metrics.size() ? o.metrics[k] : nan_value;
  for (std::size_t k = 0; k < m.series.size(); ++k) {
    auto& s = m.series[k];
    if (k < o.series.size() && !o.series[k].empty()) {
      s.offset[row] = s.total + static_cast<std::int64_t>(s.pending.size());
      s.length[row] = static_cast<std::int64_t>(o.series[k].size());
      s.pending.insert(s.pending.end(), o.series[k].begin(), o.series[k].end());
    } else {
      s.offset[row] = 0;
      s.length[row] = 0;
    }
  }
  m.mark(row, Dirty::recorded);
}

void Writer::flush() { impl_->flush(); }

std::size_t Writer::begin_run(const RunRecord& run) {
  auto& m = *impl_;
  m.check_open();
  std::size_t row = m.run_count++;
  m.write_run(row, run);
  return row;
}

void Writer::end_run(std::size_t run, double end, std::int32_t exit_status) {
  auto& m = *impl_;
  m.check_open();
  if (run >= m.run_count) throw internal_error("archive: end_run() of a run that does not exist");
  RunRecord r = m.read_run(run);
  r.end = end;
  r.exit_status = exit_status;
  m.write_run(run, r);
}

void Writer::close() {
  if (impl_) impl_->close();
}

}  // namespace mpisweep::archive

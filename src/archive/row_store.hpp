#pragma once
// The writer's in-memory mirror of /tasks and the /series offset/length columns, with no HDF5 in
// it (unit-tested alone): record() is O(1), and flush() rewrites whole chunks from here without
// reading them back. 1M rows cost ~100 bytes each plus their params and metrics.
//
// Dirty rows are tracked per chunk of rows and per kind of change: id, seed and params change
// only when rows are added; the outcome columns when a row is recorded (new rows hold exactly the
// datasets' fill values there, so they need no write); the error column only when an error is set
// or cleared. So a straggler far behind the frontier dirties one chunk, not a column.
#include <mpisweep/archive/archive.hpp>

#include <mpisweep/core/chunk_codec.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace mpisweep::archive {

namespace fmt {
// Fixed string sizes include the terminator.
inline constexpr std::size_t host_size = 64;
inline constexpr std::size_t error_size = 256;  // the biggest column; 512 halved flush speed
}  // namespace fmt

// Interned strings (hosts, choices): rows hold a small index instead of a heap string.
struct StringTable {
  std::vector<std::string> strings;
  std::unordered_map<std::string, std::uint32_t> index;
  std::uint32_t intern(const std::string& s);
};

// One parameter column: one vector, its element type picked by the variant's alternative, in
// ParamType order (booleans as int8 like the file; choices as indices into `table`).
struct ParamRows {
  using Data = std::variant<std::vector<std::int8_t>, std::vector<std::int64_t>,
                            std::vector<double>, std::vector<std::uint32_t>>;
  explicit ParamRows(const ParamSpec& spec);

  ParamType type() const { return static_cast<ParamType>(data.index()); }
  // Whether `v` can be stored (a real column takes integers too; a choice must fit its width).
  bool accepts(const Value& v) const;
  void push(const Value& v);  // after accepts()
  Value value(std::size_t row) const;
  void resize(std::size_t n);

  Data data;
  std::size_t str_size = 1;  // choices: the column's fixed string size
  StringTable table;
};

// One series' offset and length columns, and the arrays recorded since the last flush. An array
// of at least one chunk comes encoded (chunk_codec, by the worker) and starts on a chunk boundary,
// so flush() writes its chunks as they are (H5Dwrite_chunk) and the padding after its last value
// reads as the fill value, 0. Shorter arrays come as values and are packed back to back, written
// through HDF5's filters: a chunk each would cost more than their bytes.
struct SeriesRows {
  struct Pending {
    std::int64_t offset = 0;                             // where the array starts in values
    std::shared_ptr<const chunk_codec::Encoded> chunks;  // null: `count` values of `raw`
    std::size_t raw_first = 0;
    std::int64_t count = 0;
  };
  std::vector<std::int64_t> offset, length;
  std::int64_t chunk = 1;  // elements per chunk of values: chunk_codec::chunk_elements(spec)
  std::int64_t total = 0;  // values' extent on disk
  std::int64_t next = 0;   // where the next short array starts (a long one: the next boundary)
  std::vector<Pending> pending;  // in offset order
  std::vector<double> raw;       // the values of the pending short arrays, in order
  // After loading an archive whose values hold `extent` elements.
  void resume_at(std::int64_t extent);
};

// progressed: a running task's progress changed (only /tasks/progress is rewritten).
enum Dirty : int { added = 0, recorded = 1, errored = 2, progressed = 3, dirty_kinds = 4 };

class RowStore {
 public:
  RowStore(const Layout& layout, std::size_t chunk);

  std::size_t size() const { return rows.size(); }
  std::size_t chunk() const { return chunk_; }
  // Appends pending rows; returns the first index. Checks every task before appending any
  // (internal_error: id 0, wrong parameter count or type), so the columns stay aligned.
  std::size_t add(std::span<const TaskRecord> tasks);
  // Records an attempt (internal_error for a row that does not exist, too many metrics, or a
  // series encoded in other chunks than the archive's). Series come encoded (Outcome::encoded,
  // shared, no bytes copied); raw Outcome::series are encoded here with the declared storage.
  void record(std::size_t row, const Outcome& outcome);
  // A running task's own estimate of how far it is, in [0, 1]; record() clears it (NaN).
  void set_progress(std::size_t row, float fraction);
  // Clears every row's progress (a killed run's leftovers when resuming).
  void clear_progress();
  // Room for `n` rows in every column (rows are then added block by block without regrowth).
  void reserve(std::size_t n);
  // Gives every column `n` rows (after loading; new rows are not marked dirty).
  void resize(std::size_t n);

  void mark(std::size_t row, int kind);
  void mark_all();
  void clear_dirty();
  bool any_dirty() const { return any_dirty_; }
  bool has_pending_values() const;
  // Maximal runs [first, first+count) of dirty rows of `kind`, cut at `n` rows.
  std::vector<std::pair<std::size_t, std::size_t>> dirty_ranges(int kind, std::size_t n) const;

  const Layout& layout() const { return layout_; }

  std::vector<RowState> rows;  // id, status, attempts columns
  std::vector<std::uint64_t> seeds;
  std::vector<std::int32_t> workers;
  std::vector<std::uint32_t> host_index;
  StringTable hosts;
  std::vector<double> started, wall;
  std::vector<float> progress;  // NaN: not running, or running without an estimate
  std::unordered_map<std::size_t, std::string> errors;  // sparse: non-empty only
  std::vector<ParamRows> params;
  std::vector<std::vector<double>> metrics;
  std::vector<SeriesRows> series;

 private:
  Layout layout_;
  std::size_t chunk_;
  std::uint32_t last_host_ = 0;  // record(): the host of the last result, an index of `hosts`
  std::array<std::vector<std::uint8_t>, dirty_kinds> dirty_;  // per kind, per chunk of rows
  bool any_dirty_ = false;
};

// The fixed string size of a choice column: its longest choice (or default) plus the terminator.
std::size_t choice_size(const ParamSpec& p);

}  // namespace mpisweep::archive

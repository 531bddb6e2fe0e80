#pragma once
// What the browse commands (show, plot, report) compute from an archive, as a plain library:
// the task table, the --where filter, grouping by parameter point, mean and standard error over
// seeds, and counts of done/failed/timeout/pending tasks; and the summary table's text forms
// (render_summary, in show.cpp), shared by show and report.
#include <mpisweep/archive/archive.hpp>
#include <mpisweep/core/value.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mpisweep::cli {

struct ParamInfo {
  std::string name;
  ParamType type = ParamType::real;
  std::string unit;
  std::vector<std::string> choices;  // declared choices when the experiment is known; may be empty
  bool random = false;  // drawn in the sweep file's [random] section: scattered, not a grid axis
};

struct MetricInfo {
  std::string name, unit, help;
};

// Every task of an archive, column by column (rows in archive order).
struct TaskTable {
  std::string experiment;
  std::vector<ParamInfo> params;
  std::vector<std::vector<Value>> param_values;  // [param][row]
  std::vector<MetricInfo> metrics;
  std::vector<std::vector<double>> metric_values;  // [metric][row], NaN where absent
  std::vector<archive::TaskStatus> status;
  std::vector<std::uint64_t> seeds;

  std::size_t rows() const { return status.size(); }
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::size_t param_index(std::string_view name) const;   // npos if absent
  std::size_t metric_index(std::string_view name) const;  // npos if absent
};

// Reads the table of `reader` as it is now (a running sweep's pending rows included). Columns
// follow the experiment's declaration order when the experiment is registered, else the archive's.
TaskTable load_table(const archive::Reader& reader);

// Looks names up; throws input_error(option, ...) listing the valid names when one is unknown.
std::vector<std::size_t> resolve_params(const TaskTable& t, std::span<const std::string> names,
                                        const std::string& option);
std::vector<std::size_t> resolve_metrics(const TaskTable& t, std::span<const std::string> names,
                                         const std::string& option);

// A parsed --where expression over parameter columns, and, where a name is no parameter, over
// metrics (compared as numbers; a task without the value matches only !=), `status` (== or !=
// done, failed, timeout, pending) and `seed`:
//   expr := and ('||' and)*      and := unary ('&&' unary)*
//   unary := '!' unary | '(' expr ')' | NAME [op value]      op := == != < <= > >=  (= is ==)
//   value := number | true | false | 'quoted' | "quoted" | bare-word
// A bare NAME must be a boolean parameter. Numbers compare with integer and real parameters,
// true/false with booleans, strings with choices (== and != only). Type errors, unknown names and
// syntax errors are input_error("--where", ...) naming the 1-based character position.
class Where {
 public:
  Where();  // matches every row
  static Where parse(std::string_view text, std::span<const ParamInfo> params,
                     std::span<const MetricInfo> metrics = {});
  static Where parse(std::string_view text, const TaskTable& t);  // parameters and metrics
  bool matches(const TaskTable& t, std::size_t row) const;
  bool always() const { return !root_; }
  const std::string& text() const { return text_; }

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
  std::string text_;
};

// Mean and standard error (sample standard deviation / sqrt(n)) of the finite values; NaN
// values are absent. n = 0: mean and se NaN; n = 1: se NaN.
struct Stat {
  double mean = 0, se = 0;
  std::size_t n = 0;
};
Stat mean_se(std::span<const double> values);

struct Counts {
  std::size_t done = 0, failed = 0, timeout = 0, pending = 0;
  std::size_t total() const { return done + failed + timeout + pending; }
  void add(archive::TaskStatus s);
  Counts& operator+=(const Counts& o);
};

// One row of the summary: the tasks that share the values of the key parameters.
struct Group {
  std::vector<Value> key;  // values of Summary::key_params, in that order
  Counts counts;
  std::vector<Stat> stats;        // per Summary::metrics, over the group's done tasks
  std::vector<std::size_t> rows;  // the group's table rows (every status)
};

struct Summary {
  std::vector<std::size_t> key_params;  // indices into TaskTable::params
  std::vector<std::size_t> metrics;     // indices into TaskTable::metrics
  std::vector<Group> groups;            // sorted by key (see compare_values)
  Counts total;                         // over rows that pass the filter
  std::size_t filtered_out = 0;         // rows the filter dropped
  bool per_task = false;                // each group is one task: tables show its status
};

// Groups the rows `where` keeps by the values of `key_params` (every parameter: one group per
// parameter point) and averages `metrics` over each group's done tasks.
Summary summarize(const TaskTable& t, std::span<const std::size_t> key_params,
                  std::span<const std::size_t> metrics, const Where& where);

// Parameters (indices) that take more than one value among the rows `where` keeps.
std::vector<std::size_t> varying_params(const TaskTable& t, const Where& where);

// The number of an integer, real or boolean value (false, true: 0, 1); false for a string.
bool as_number(const Value& v, double& x);

// Total order used for sorting: false < true, numbers by value (integers and reals together),
// strings lexicographically; across kinds by variant index.
int compare_values(const Value& a, const Value& b);

// Element-wise mean and standard error of curves of possibly different lengths: point i averages
// the curves that reach i.
struct Curve {
  std::vector<double> mean, se;
  std::vector<std::size_t> n;
};
Curve mean_curve(std::span<const std::vector<double>> curves);

// "0.512 ± 0.013": the standard error to two significant digits and the mean to the same
// decimal place; scientific notation for very large or small numbers; "-" when there is no mean.
// `mean_text` and `se_text` get the two halves separately (se_text empty when there is no se).
void format_mean_se(const Stat& s, std::string& mean_text, std::string& se_text);
std::string format_number(double x);  // shortest exact text; "nan", "inf"
// A column of mean ± se cells with one decimal place for all rows (the finest any row needs, at
// most 6), so "1.00000 ± 0" never stands beside "1.00533 ± 0.00089"; rows that need scientific
// notation, or a column spanning too many decimals, fall back to format_mean_se per row.
void format_mean_se_column(std::span<const Stat> stats, std::vector<std::string>& means,
                           std::vector<std::string>& ses);
// A parameter value for reading: reals to 6 significant digits (5 for random draws).
std::string display_value(const Value& v, bool random);

// JSON text of a string (quoted, escaped), a number (null when not finite) and a value.
std::string json_string(const std::string& s);
std::string json_number(double x);
std::string json_value(const Value& v);

enum class TableFormat { table, markdown, csv, json };

// The summary as text. `shown_params` (a subset of s.key_params) are the parameter columns of
// table and markdown; csv and json always carry every key parameter, every count, and mean, se
// and n of every metric. Table: when `max_width` > 0, metric columns that would overflow it are
// left out and their names returned in `hidden`.
std::string render_summary(const TaskTable& t, const Summary& s,
                           std::span<const std::size_t> shown_params, TableFormat format,
                           std::size_t max_width = 0, std::vector<std::string>* hidden = nullptr);

}  // namespace mpisweep::cli

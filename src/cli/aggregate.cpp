// The browse library: task table, --where parser, grouping and mean ± standard error.
#include <mpisweep/cli/aggregate.hpp>

#include <toml++/toml.h>
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/registry.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>

namespace mpisweep::cli {

namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

const Experiment* known_experiment(const std::string& name) {
  for (const auto& e : experiments())
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Task table

std::size_t TaskTable::param_index(std::string_view name) const {
  for (std::size_t i = 0; i < params.size(); ++i)
    if (params[i].name == name) return i;
  return npos;
}

std::size_t TaskTable::metric_index(std::string_view name) const {
  for (std::size_t i = 0; i < metrics.size(); ++i)
    if (metrics[i].name == name) return i;
  return npos;
}

TaskTable load_table(const archive::Reader& reader) {
  TaskTable t;
  t.experiment = reader.info().experiment;
  t.status = reader.status();
  t.seeds = reader.seeds();
  const std::size_t n = std::min(t.status.size(), t.seeds.size());
  t.status.resize(n);
  t.seeds.resize(n);

  // Declaration order of the experiment reads better than the archive's alphabetical order.
  const Experiment* e = known_experiment(t.experiment);
  auto rank_of = [](const auto& decl, const std::string& name) {
    for (std::size_t i = 0; i < decl.size(); ++i)
      if (decl[i].name == name) return i;
    return decl.size();
  };
  auto params = reader.params();
  auto metrics = reader.metrics();
  if (e) {
    std::stable_sort(params.begin(), params.end(), [&](const auto& a, const auto& b) {
      return rank_of(e->params, a.name) < rank_of(e->params, b.name);
    });
    std::stable_sort(metrics.begin(), metrics.end(), [&](const auto& a, const auto& b) {
      return rank_of(e->metrics, a.name) < rank_of(e->metrics, b.name);
    });
  }
  // Parameters the stored sweep file draws at random ([random] section): their values scatter.
  std::vector<std::string> drawn;
  try {
    const toml::table spec = toml::parse(reader.info().spec_toml);
    if (const toml::table* r = spec["random"].as_table())
      for (const auto& [key, _] : *r)
        if (key.str() != "count") drawn.emplace_back(key.str());
  } catch (const toml::parse_error&) {
    // An archive of another tool's making: no parameter is known to be random.
  }
  for (const auto& c : params) {
    archive::ParamColumn col = reader.param(c.name);
    ParamInfo info{c.name, col.type, c.unit, {}};
    info.random = std::find(drawn.begin(), drawn.end(), c.name) != drawn.end();
    if (e) {
      auto r = rank_of(e->params, c.name);
      if (r < e->params.size()) info.choices = e->params[r].choices;
    }
    std::vector<Value> values;
    values.reserve(n);
    for (std::size_t row = 0; row < n; ++row) values.push_back(col.at(row));
    t.params.push_back(std::move(info));
    t.param_values.push_back(std::move(values));
  }
  for (const auto& c : metrics) {
    auto values = reader.metric(c.name);
    values.resize(n, std::nan(""));
    t.metrics.push_back({c.name, c.unit, c.help});
    t.metric_values.push_back(std::move(values));
  }
  return t;
}

std::vector<std::size_t> resolve_params(const TaskTable& t, std::span<const std::string> names,
                                        const std::string& option) {
  std::vector<std::size_t> out;
  for (const auto& name : names) {
    std::size_t i = t.param_index(name);
    if (i == TaskTable::npos) {
      std::vector<std::string> valid;
      for (const auto& p : t.params) valid.push_back(p.name);
      throw input_error(option, "unknown parameter '" + name + "'; the archive's parameters are: " +
                                    join(valid));
    }
    if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
  }
  return out;
}

std::vector<std::size_t> resolve_metrics(const TaskTable& t, std::span<const std::string> names,
                                         const std::string& option) {
  std::vector<std::size_t> out;
  for (const auto& name : names) {
    std::size_t i = t.metric_index(name);
    if (i == TaskTable::npos) {
      std::vector<std::string> valid;
      for (const auto& m : t.metrics) valid.push_back(m.name);
      throw input_error(option,
                        "unknown metric '" + name + "'; the archive's metrics are: " + join(valid));
    }
    if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// --where

enum class Op { eq, ne, lt, le, gt, ge };

struct Where::Node {
  enum Kind { or_, and_, not_, cmp, flag } kind = cmp;
  std::vector<std::shared_ptr<const Node>> kids;
  std::size_t param = 0;
  Op op = Op::eq;
  Value value;
};

namespace {

struct Token {
  enum Kind { name, number, string, op, lparen, rparen, not_, and_, or_, end } kind = end;
  std::string text;
  std::size_t pos = 0;  // 0-based
};

class WhereParser {
 public:
  WhereParser(std::string_view text, std::span<const ParamInfo> params)
      : text_(text), params_(params) {
    tokenize();
  }

  std::shared_ptr<const Where::Node> parse() {
    if (tokens_.front().kind == Token::end) fail(0, "empty expression");
    auto root = parse_or();
    if (peek().kind != Token::end) fail(peek().pos, "unexpected '" + peek().text + "'" +
                                                        (peek().kind == Token::rparen
                                                             ? " (no matching '(')"
                                                             : "; expected && or ||"));
    return root;
  }

 private:
  // Nesting deeper than any expression a person writes; the parser recurses once per level, so
  // the bound keeps a pathological --where (20,000 '!' or '(') from overflowing the stack.
  static constexpr int max_depth = 64;

  [[noreturn]] void fail(std::size_t pos, const std::string& what) const {
    // A long expression is quoted around the position only, so the message stays one short line.
    std::string quoted(text_);
    if (quoted.size() > 80) {
      const std::size_t from = pos > 30 ? pos - 30 : 0;
      quoted = (from ? "..." : "") + std::string(text_.substr(from, 60)) +
               (from + 60 < text_.size() ? "..." : "");
    }
    throw input_error("--where", "position " + std::to_string(pos + 1) + " of \"" + quoted +
                                     "\": " + what);
  }

  // Counts one level of nesting for the lifetime of a recursive call.
  struct Nest {
    Nest(const WhereParser& p, std::size_t pos) : p_(p) {
      if (++p_.depth_ > max_depth)
        p_.fail(pos, "nested more than " + std::to_string(max_depth) + " levels deep");
    }
    ~Nest() { --p_.depth_; }
    const WhereParser& p_;
  };

  static bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
  static bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  }

  void tokenize() {
    std::size_t i = 0;
    const std::size_t n = text_.size();
    while (i < n) {
      const char c = text_[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
        continue;
      }
      Token t;
      t.pos = i;
      auto two = [&](const char* s) { return text_.substr(i, 2) == s; };
      if (two("&&")) {
        t = {Token::and_, "&&", i};
        i += 2;
      } else if (two("||")) {
        t = {Token::or_, "||", i};
        i += 2;
      } else if (two("==") || two("!=") || two("<=") || two(">=")) {
        t = {Token::op, std::string(text_.substr(i, 2)), i};
        i += 2;
      } else if (c == '<' || c == '>') {
        t = {Token::op, std::string(1, c), i};
        ++i;
      } else if (c == '=') {
        t = {Token::op, "==", i};
        ++i;
      } else if (c == '!') {
        t = {Token::not_, "!", i};
        ++i;
      } else if (c == '(') {
        t = {Token::lparen, "(", i};
        ++i;
      } else if (c == ')') {
        t = {Token::rparen, ")", i};
        ++i;
      } else if (c == '\'' || c == '"') {
        std::size_t close = text_.find(c, i + 1);
        if (close == std::string_view::npos) fail(i, "unterminated string");
        t = {Token::string, std::string(text_.substr(i + 1, close - i - 1)), i};
        i = close + 1;
      } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
                 ((c == '-' || c == '+') && i + 1 < n &&
                  (std::isdigit(static_cast<unsigned char>(text_[i + 1])) || text_[i + 1] == '.'))) {
        std::size_t j = i + 1;
        while (j < n && (std::isalnum(static_cast<unsigned char>(text_[j])) || text_[j] == '.' ||
                         ((text_[j] == '-' || text_[j] == '+') &&
                          (text_[j - 1] == 'e' || text_[j - 1] == 'E'))))
          ++j;
        t = {Token::number, std::string(text_.substr(i, j - i)), i};
        i = j;
      } else if (name_start(c)) {
        std::size_t j = i + 1;
        while (j < n && name_char(text_[j])) ++j;
        t = {Token::name, std::string(text_.substr(i, j - i)), i};
        i = j;
      } else {
        fail(i, std::string("unexpected character '") + c + "'");
      }
      tokens_.push_back(std::move(t));
    }
    tokens_.push_back({Token::end, "end of expression", n});
  }

  const Token& peek() const { return tokens_[next_]; }
  const Token& take() { return tokens_[next_ < tokens_.size() - 1 ? next_++ : next_]; }

  std::shared_ptr<const Where::Node> parse_or() {
    auto left = parse_and();
    if (peek().kind != Token::or_) return left;
    auto node = std::make_shared<Where::Node>();
    node->kind = Where::Node::or_;
    node->kids.push_back(left);
    while (peek().kind == Token::or_) {
      take();
      node->kids.push_back(parse_and());
    }
    return node;
  }

  std::shared_ptr<const Where::Node> parse_and() {
    auto left = parse_unary();
    if (peek().kind != Token::and_) return left;
    auto node = std::make_shared<Where::Node>();
    node->kind = Where::Node::and_;
    node->kids.push_back(left);
    while (peek().kind == Token::and_) {
      take();
      node->kids.push_back(parse_unary());
    }
    return node;
  }

  std::shared_ptr<const Where::Node> parse_unary() {
    const Token& t = peek();
    const Nest nest(*this, t.pos);
    if (t.kind == Token::not_) {
      take();
      auto node = std::make_shared<Where::Node>();
      node->kind = Where::Node::not_;
      node->kids.push_back(parse_unary());
      return node;
    }
    if (t.kind == Token::lparen) {
      take();
      auto inner = parse_or();
      if (peek().kind != Token::rparen)
        fail(peek().pos, "expected ')' to close the '(' at position " + std::to_string(t.pos + 1) +
                             ", found '" + peek().text + "'");
      take();
      return inner;
    }
    if (t.kind == Token::name) return parse_comparison();
    fail(t.pos, "expected a parameter name, '!' or '(', found '" + t.text + "'");
  }

  std::size_t find_param(const Token& t) const {
    for (std::size_t i = 0; i < params_.size(); ++i)
      if (params_[i].name == t.text) return i;
    std::vector<std::string> valid;
    for (const auto& p : params_) valid.push_back(p.name);
    fail(t.pos, "unknown parameter '" + t.text + "'; the archive's parameters are: " + join(valid));
  }

  std::shared_ptr<const Where::Node> parse_comparison() {
    const Token name = take();
    const std::size_t p = find_param(name);
    const ParamInfo& info = params_[p];
    auto node = std::make_shared<Where::Node>();
    node->param = p;
    if (peek().kind != Token::op) {
      if (info.type != ParamType::boolean)
        fail(name.pos, "'" + info.name + "' is " +
                           (info.type == ParamType::choice ? "a choice" : "a numeric") +
                           " parameter, not a boolean; compare it, e.g. " + info.name +
                           (info.type == ParamType::choice ? " == value" : " >= 4"));
      node->kind = Where::Node::flag;
      return node;
    }
    const Token op = take();
    node->kind = Where::Node::cmp;
    node->op = op.text == "==" ? Op::eq
               : op.text == "!=" ? Op::ne
               : op.text == "<"  ? Op::lt
               : op.text == "<=" ? Op::le
               : op.text == ">"  ? Op::gt
                                 : Op::ge;
    const Token v = take();
    if (v.kind != Token::number && v.kind != Token::string && v.kind != Token::name)
      fail(v.pos, "expected a value after '" + op.text + "', found '" + v.text + "'");
    const bool ordering = node->op != Op::eq && node->op != Op::ne;
    switch (info.type) {
      case ParamType::integer:
      case ParamType::real: {
        double x = 0;
        if (v.kind != Token::number || !parse_number(v.text, x))
          fail(v.pos, "'" + info.name + "' is numeric; expected a number, found '" + v.text + "'");
        node->value = x;
        break;
      }
      case ParamType::boolean: {
        if (ordering)
          fail(op.pos, "'" + info.name + "' is a boolean; use == or != (or just " + info.name +
                           " / !" + info.name + ")");
        if (v.kind == Token::name && (v.text == "true" || v.text == "false"))
          node->value = v.text == "true";
        else if (v.kind == Token::number && (v.text == "1" || v.text == "0"))
          node->value = v.text == "1";
        else
          fail(v.pos, "'" + info.name + "' is a boolean; expected true or false, found '" +
                          v.text + "'");
        break;
      }
      case ParamType::choice: {
        if (ordering)
          fail(op.pos, "'" + info.name + "' is a choice; only == and != compare it");
        if (!info.choices.empty() &&
            std::find(info.choices.begin(), info.choices.end(), v.text) == info.choices.end())
          fail(v.pos, "'" + v.text + "' is not a value of '" + info.name + "'; its choices are: " +
                          join(info.choices));
        node->value = v.text;
        break;
      }
    }
    return node;
  }

  static bool parse_number(const std::string& s, double& x) {
    const char* b = s.data() + (s.size() > 0 && s[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(b, s.data() + s.size(), x);
    return ec == std::errc() && end == s.data() + s.size();
  }

  std::string_view text_;
  std::span<const ParamInfo> params_;
  std::vector<Token> tokens_;
  std::size_t next_ = 0;
  mutable int depth_ = 0;
};

bool as_number(const Value& v, double& x) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    x = static_cast<double>(*i);
    return true;
  }
  if (const auto* d = std::get_if<double>(&v)) {
    x = *d;
    return true;
  }
  if (const auto* b = std::get_if<bool>(&v)) {
    x = *b ? 1 : 0;
    return true;
  }
  return false;
}

bool eval(const Where::Node& n, const TaskTable& t, std::size_t row) {
  switch (n.kind) {
    case Where::Node::or_:
      return std::any_of(n.kids.begin(), n.kids.end(), [&](const auto& k) { return eval(*k, t, row); });
    case Where::Node::and_:
      return std::all_of(n.kids.begin(), n.kids.end(), [&](const auto& k) { return eval(*k, t, row); });
    case Where::Node::not_: return !eval(*n.kids[0], t, row);
    case Where::Node::flag: {
      const Value& v = t.param_values[n.param][row];
      const auto* b = std::get_if<bool>(&v);
      return b && *b;
    }
    case Where::Node::cmp: break;
  }
  const Value& v = t.param_values[n.param][row];
  int c = 0;
  if (const auto* s = std::get_if<std::string>(&n.value)) {
    const auto* vs = std::get_if<std::string>(&v);
    if (!vs) return n.op == Op::ne;
    c = vs->compare(*s) < 0 ? -1 : vs->compare(*s) > 0 ? 1 : 0;
  } else {
    double a = 0, b = 0;
    if (!as_number(v, a) || !as_number(n.value, b)) return n.op == Op::ne;
    if (std::isnan(a) || std::isnan(b)) return n.op == Op::ne;
    c = a < b ? -1 : a > b ? 1 : 0;
  }
  switch (n.op) {
    case Op::eq: return c == 0;
    case Op::ne: return c != 0;
    case Op::lt: return c < 0;
    case Op::le: return c <= 0;
    case Op::gt: return c > 0;
    case Op::ge: return c >= 0;
  }
  return false;
}

}  // namespace

Where::Where() = default;

Where Where::parse(std::string_view text, std::span<const ParamInfo> params) {
  Where w;
  w.text_ = std::string(text);
  w.root_ = WhereParser(text, params).parse();
  return w;
}

bool Where::matches(const TaskTable& t, std::size_t row) const {
  return !root_ || eval(*root_, t, row);
}

// ---------------------------------------------------------------------------------------------
// Statistics

Stat mean_se(std::span<const double> values) {
  // Two passes (mean, then squared deviations) for accuracy with large offsets.
  Stat s;
  double sum = 0;
  for (double x : values)
    if (std::isfinite(x)) {
      sum += x;
      ++s.n;
    }
  if (s.n == 0) {
    s.mean = s.se = std::nan("");
    return s;
  }
  s.mean = sum / static_cast<double>(s.n);
  if (s.n == 1) {
    s.se = std::nan("");
    return s;
  }
  double ss = 0;
  for (double x : values)
    if (std::isfinite(x)) ss += (x - s.mean) * (x - s.mean);
  const double var = ss / static_cast<double>(s.n - 1);
  s.se = std::sqrt(var / static_cast<double>(s.n));
  return s;
}

void Counts::add(archive::TaskStatus s) {
  switch (s) {
    case archive::TaskStatus::done: ++done; break;
    case archive::TaskStatus::failed: ++failed; break;
    case archive::TaskStatus::timeout: ++timeout; break;
    case archive::TaskStatus::pending:
    case archive::TaskStatus::returned: ++pending; break;  // returned is never stored
  }
}

Counts& Counts::operator+=(const Counts& o) {
  done += o.done;
  failed += o.failed;
  timeout += o.timeout;
  pending += o.pending;
  return *this;
}

int compare_values(const Value& a, const Value& b) {
  double x = 0, y = 0;
  const bool an = !std::holds_alternative<std::string>(a) && !std::holds_alternative<bool>(a);
  const bool bn = !std::holds_alternative<std::string>(b) && !std::holds_alternative<bool>(b);
  if (an && bn) {
    as_number(a, x);
    as_number(b, y);
    if (x < y) return -1;
    if (x > y) return 1;
    // NaN sorts last; integers before equal reals keeps the order total.
    if (std::isnan(x) != std::isnan(y)) return std::isnan(x) ? 1 : -1;
    return a.index() < b.index() ? -1 : a.index() > b.index() ? 1 : 0;
  }
  if (a.index() != b.index()) return a.index() < b.index() ? -1 : 1;
  if (const auto* ab = std::get_if<bool>(&a)) return int(*ab) - int(std::get<bool>(b));
  const auto& as = std::get<std::string>(a);
  const auto& bs = std::get<std::string>(b);
  return as < bs ? -1 : as > bs ? 1 : 0;
}

Summary summarize(const TaskTable& t, std::span<const std::size_t> key_params,
                  std::span<const std::size_t> metrics, const Where& where) {
  Summary s;
  s.key_params.assign(key_params.begin(), key_params.end());
  s.metrics.assign(metrics.begin(), metrics.end());
  auto less = [](const std::vector<Value>& a, const std::vector<Value>& b) {
    for (std::size_t i = 0; i < a.size(); ++i)
      if (int c = compare_values(a[i], b[i]); c != 0) return c < 0;
    return false;
  };
  std::map<std::vector<Value>, Group, decltype(less)> groups(less);
  for (std::size_t row = 0; row < t.rows(); ++row) {
    if (!where.matches(t, row)) {
      ++s.filtered_out;
      continue;
    }
    std::vector<Value> key;
    key.reserve(key_params.size());
    for (auto p : key_params) key.push_back(t.param_values[p][row]);
    Group& g = groups[key];
    g.rows.push_back(row);
    g.counts.add(t.status[row]);
    s.total.add(t.status[row]);
  }
  std::vector<double> buf;
  for (auto& [key, g] : groups) {
    g.key = key;
    for (auto m : metrics) {
      buf.clear();
      for (auto row : g.rows)
        if (t.status[row] == archive::TaskStatus::done) buf.push_back(t.metric_values[m][row]);
      g.stats.push_back(mean_se(buf));
    }
    s.groups.push_back(std::move(g));
  }
  return s;
}

std::vector<std::size_t> varying_params(const TaskTable& t, const Where& where) {
  std::vector<std::size_t> out;
  std::vector<std::size_t> kept;
  for (std::size_t row = 0; row < t.rows(); ++row)
    if (where.matches(t, row)) kept.push_back(row);
  for (std::size_t p = 0; p < t.params.size(); ++p) {
    const auto& col = t.param_values[p];
    for (auto row : kept)
      if (compare_values(col[row], col[kept.front()]) != 0) {
        out.push_back(p);
        break;
      }
  }
  return out;
}

Curve mean_curve(std::span<const std::vector<double>> curves) {
  std::size_t len = 0;
  for (const auto& c : curves) len = std::max(len, c.size());
  Curve out;
  std::vector<double> column;
  for (std::size_t i = 0; i < len; ++i) {
    column.clear();
    for (const auto& c : curves)
      if (i < c.size()) column.push_back(c[i]);
    Stat s = mean_se(column);
    out.mean.push_back(s.mean);
    out.se.push_back(s.se);
    out.n.push_back(s.n);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Formatting

std::string format_number(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, ec == std::errc() ? end : buf);
}

void format_mean_se(const Stat& s, std::string& mean_text, std::string& se_text) {
  char buf[64];
  se_text.clear();
  if (s.n == 0 || !std::isfinite(s.mean)) {
    mean_text = "-";
    return;
  }
  if (!std::isfinite(s.se) || s.se == 0) {
    std::snprintf(buf, sizeof buf, "%.4g", s.mean);
    mean_text = buf;
    if (s.se == 0) se_text = "0";
    return;
  }
  // Two significant digits of the standard error fix the decimal place of both.
  const int se_exp = static_cast<int>(std::floor(std::log10(s.se)));
  const int decimals = 1 - se_exp;
  const double mag = std::max(std::fabs(s.mean), s.se);
  if (decimals >= 0 && decimals <= 6 && mag < 1e7) {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, s.mean);
    mean_text = buf;
    std::snprintf(buf, sizeof buf, "%.*f", decimals, s.se);
    se_text = buf;
  } else if (decimals < 0 && mag < 1e7) {
    std::snprintf(buf, sizeof buf, "%.0f", s.mean);
    mean_text = buf;
    std::snprintf(buf, sizeof buf, "%.0f", s.se);
    se_text = buf;
  } else {
    // Mantissa digits such that the last one sits at the se's second significant digit.
    const int mean_exp = s.mean == 0 ? se_exp : static_cast<int>(std::floor(std::log10(std::fabs(s.mean))));
    const int digits = std::clamp(mean_exp - se_exp + 1, 1, 15);
    std::snprintf(buf, sizeof buf, "%.*e", digits, s.mean);
    mean_text = buf;
    std::snprintf(buf, sizeof buf, "%.1e", s.se);
    se_text = buf;
  }
}

}  // namespace mpisweep::cli

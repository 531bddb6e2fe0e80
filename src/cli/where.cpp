// The --where filter: a small recursive-descent parser over the task table's names (parameters,
// then metrics, status and seed) and its evaluation per row.
#include <mpisweep/core/text.hpp>
#include <mpisweep/cli/aggregate.hpp>
#include <mpisweep/core/error.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace mpisweep::cli {

namespace {}  // namespace

// ---------------------------------------------------------------------------------------------
// --where

enum class Op { eq, ne, lt, le, gt, ge };

struct Where::Node {
  enum Kind { or_, and_, not_, cmp, flag } kind = cmp;
  // What a name refers to: a parameter, a metric (NaN: no value, only != holds), the task's
  // status (a choice of done, failed, timeout, pending) or its seed.
  enum Source { param, metric, status, seed } source = param;
  std::vector<std::shared_ptr<const Node>> kids;
  std::size_t column = 0;
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
  WhereParser(std::string_view text, std::span<const ParamInfo> params,
              std::span<const MetricInfo> metrics)
      : text_(text), params_(params) {
    // Metrics, status and seed compare like parameters of a fitting type; parameters win a
    // name they share.
    names_.assign(params.begin(), params.end());
    for (std::size_t i = 0; i < names_.size(); ++i) sources_.emplace_back(Where::Node::param, i);
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      names_.push_back({metrics[i].name, ParamType::real, metrics[i].unit, {}});
      sources_.emplace_back(Where::Node::metric, i);
    }
    names_.push_back({"status", ParamType::choice, "", {"done", "failed", "timeout", "pending"}});
    sources_.emplace_back(Where::Node::status, 0);
    names_.push_back({"seed", ParamType::integer, "", {}});
    sources_.emplace_back(Where::Node::seed, 0);
    tokenize();
  }

  std::shared_ptr<const Where::Node> parse() {
    if (tokens_.front().kind == Token::end) fail(0, "empty expression");
    auto root = parse_or();
    if (peek().kind != Token::end)
      fail(peek().pos,
           "unexpected '" + peek().text + "'" +
               (peek().kind == Token::rparen ? " (no matching '(')" : "; expected && or ||"));
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
    throw input_error("--where",
                      "position " + std::to_string(pos + 1) + " of \"" + quoted + "\": " + what);
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
                  (std::isdigit(static_cast<unsigned char>(text_[i + 1])) ||
                   text_[i + 1] == '.'))) {
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

  std::size_t find_name(const Token& t) const {
    for (std::size_t i = 0; i < names_.size(); ++i)
      if (names_[i].name == t.text) return i;
    std::vector<std::string> valid;
    for (const auto& p : params_) valid.push_back(p.name);
    fail(t.pos, "unknown name '" + t.text + "'; the archive's parameters are: " + join(valid) +
                    " (metrics, status and seed compare too)");
  }

  std::shared_ptr<const Where::Node> parse_comparison() {
    const Token name = take();
    const std::size_t p = find_name(name);
    const ParamInfo& info = names_[p];
    auto node = std::make_shared<Where::Node>();
    node->source = sources_[p].first;
    node->column = sources_[p].second;
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
    node->op = op.text == "=="   ? Op::eq
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
          fail(v.pos,
               "'" + info.name + "' is a boolean; expected true or false, found '" + v.text + "'");
        break;
      }
      case ParamType::choice: {
        if (ordering) fail(op.pos, "'" + info.name + "' is a choice; only == and != compare it");
        if (!info.choices.empty() &&
            std::find(info.choices.begin(), info.choices.end(), v.text) == info.choices.end())
          fail(v.pos, "'" + v.text + "' is not a value of '" + info.name +
                          "'; its choices are: " + join(info.choices));
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
  std::vector<ParamInfo> names_;  // params_, then metrics, status, seed
  std::vector<std::pair<Where::Node::Source, std::size_t>> sources_;
  std::vector<Token> tokens_;
  std::size_t next_ = 0;
  mutable int depth_ = 0;
};

Value value_of(const Where::Node& n, const TaskTable& t, std::size_t row) {
  switch (n.source) {
    case Where::Node::param: return t.param_values[n.column][row];
    case Where::Node::metric: return t.metric_values[n.column][row];
    case Where::Node::status: return std::string(to_string(t.status[row]));
    case Where::Node::seed: break;
  }
  return static_cast<std::int64_t>(t.seeds[row]);
}

bool eval(const Where::Node& n, const TaskTable& t, std::size_t row) {
  switch (n.kind) {
    case Where::Node::or_:
      return std::any_of(n.kids.begin(), n.kids.end(),
                         [&](const auto& k) { return eval(*k, t, row); });
    case Where::Node::and_:
      return std::all_of(n.kids.begin(), n.kids.end(),
                         [&](const auto& k) { return eval(*k, t, row); });
    case Where::Node::not_: return !eval(*n.kids[0], t, row);
    case Where::Node::flag: {
      const Value v = value_of(n, t, row);
      const auto* b = std::get_if<bool>(&v);
      return b && *b;
    }
    case Where::Node::cmp: break;
  }
  const Value v = value_of(n, t, row);
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

Where Where::parse(std::string_view text, std::span<const ParamInfo> params,
                   std::span<const MetricInfo> metrics) {
  Where w;
  w.text_ = std::string(text);
  w.root_ = WhereParser(text, params, metrics).parse();
  return w;
}

Where Where::parse(std::string_view text, const TaskTable& t) {
  return parse(text, t.params, t.metrics);
}

bool Where::matches(const TaskTable& t, std::size_t row) const {
  return !root_ || eval(*root_, t, row);
}

}  // namespace mpisweep::cli

// The command kind's JSON reader and writer, against hand-written documents.
#include <mpisweep/core/error.hpp>
#include <mpisweep/experiments/command/json.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace mpisweep;
using namespace mpisweep::command;

TEST(CommandJson, ParsesNestedDocument) {
  const Json j = parse_json(R"( {"metrics": {"loss": 0.1, "n": -3e2}, "series": {"c": [1, 2.5, -0]},
      "s": "a\"b\\n\u00e9\ud83d\ude00", "t": true, "f": false, "z": null} )");
  const auto& o = j.object();
  EXPECT_EQ(o.at("metrics").object().at("loss").number(), 0.1);  // exact: strtod's 0.1
  EXPECT_EQ(o.at("metrics").object().at("n").number(), -300.0);
  ASSERT_EQ(o.at("series").object().at("c").array().size(), 3u);
  EXPECT_EQ(o.at("series").object().at("c").array()[1].number(), 2.5);
  EXPECT_EQ(o.at("s").string(), "a\"b\\n\xc3\xa9\xf0\x9f\x98\x80");  // é and U+1F600 in UTF-8
  EXPECT_EQ(std::get<bool>(o.at("t").value), true);
  EXPECT_EQ(o.at("z").value.index(), 0u);
}

TEST(CommandJson, AcceptsPythonNonFiniteTokens) {
  const Json j = parse_json("[NaN, Infinity, -Infinity]");
  EXPECT_TRUE(std::isnan(j.array()[0].number()));
  EXPECT_EQ(j.array()[1].number(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(j.array()[2].number(), -std::numeric_limits<double>::infinity());
}

TEST(CommandJson, RejectsMalformedText) {
  for (const char* bad : {"",
                          "{",
                          "{\"a\": 1,}",
                          "[1,]",
                          "01",
                          "1.",
                          ".5",
                          "-",
                          "1e",
                          "+1",
                          "{\"a\" 1}",
                          "{a: 1}",
                          "\"abc",
                          "\"a\nb\"",
                          "\"\\x\"",
                          "[1] 2",
                          "{\"a\": 1, \"a\": 2}",
                          "nan",
                          "tru",
                          "\"\\ud800\"",
                          "'x'"}) {
    EXPECT_THROW(parse_json(bad), mpisweep::error) << "accepted: " << bad;
  }
}

TEST(CommandJson, ErrorsNameTheOffset) {
  try {
    parse_json("{\"a\": 1,, }");
    FAIL();
  } catch (const mpisweep::error& e) {
    EXPECT_NE(std::string(e.what()).find("offset 8"), std::string::npos) << e.what();
  }
}

TEST(CommandJson, BoundsNesting) {
  EXPECT_THROW(parse_json(std::string(100, '[') + std::string(100, ']')), mpisweep::error);
  EXPECT_NO_THROW(parse_json(std::string(60, '[') + std::string(60, ']')));
}

TEST(CommandJson, RealsRoundTripAndStayReals) {
  EXPECT_EQ(json_real(1.0), "1.0");
  EXPECT_EQ(json_real(0.1), "0.1");
  EXPECT_EQ(json_real(1e300), "1e+300");
  EXPECT_EQ(json_real(std::nan("")), "null");
  for (double x : {0.1, 1.0 / 3.0, 6.02214076e23, -2.5e-310, 123456789.0})
    EXPECT_EQ(parse_json(json_real(x)).number(), x) << json_real(x);
}

TEST(CommandJson, QuotesEscapes) {
  EXPECT_EQ(json_quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(parse_json(json_quote("tab\there \x1f")).string(), "tab\there \x1f");
}

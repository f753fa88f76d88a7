#include "protocol/snapshot_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "protocol/json_writer.h"

namespace optischema::protocol {
namespace {

TEST(JsonWriter, PlacesCommasInNestedContainers) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("a");
  w.BeginArray();
  w.Int(1);
  w.BeginObject();
  w.EndObject();
  w.String("x");
  w.EndArray();
  w.Key("b");
  w.Bool(false);
  w.Key("c");
  w.Null();
  w.EndObject();
  EXPECT_EQ(out, R"({"a":[1,{},"x"],"b":false,"c":null})");
}

TEST(JsonWriter, EscapesControlCharactersAndQuotes) {
  std::string out;
  JsonWriter w(out);
  w.String("a\"b\\c\nd\x01");
  EXPECT_EQ(out, R"("a\"b\\c\nd\u0001")");
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), "a\"b\\c\nd\x01");
}

TEST(JsonWriter, ReplacesInvalidUtf8AndKeepsValidMultibyte) {
  std::string out;
  JsonWriter w(out);
  w.String("caf\xC3\xA9 \xFF end \xE2\x82");
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(),
            "caf\xC3\xA9 \xEF\xBF\xBD end \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(JsonWriter, WritesNonFiniteDoublesAsNullAndFiniteOnesExactly) {
  std::string out;
  JsonWriter w(out);
  w.BeginArray();
  w.Double(std::numeric_limits<double>::quiet_NaN());
  w.Double(0.1);
  w.Double(1e300);
  w.Int(-9007199254740993);
  w.EndArray();
  auto j = nlohmann::json::parse(out);
  EXPECT_TRUE(j[0].is_null());
  EXPECT_EQ(j[1].get<double>(), 0.1);
  EXPECT_EQ(j[2].get<double>(), 1e300);
  EXPECT_EQ(j[3].get<int64_t>(), -9007199254740993);
}

TEST(SnapshotJson, CarriesEveryProtocolField) {
  Snapshot s;
  s.snapshot_id = "id-1";
  s.database = "orders";
  s.collected_at = "2026-11-21T00:00:00.000Z";
  s.window_s = 30;
  StatementMetrics m;
  m.queryid = -1234567890123456789;
  m.fingerprint = "0123456789abcdef";
  m.include_text = true;
  m.text = std::nullopt;  // unparsable: null, never raw
  m.window.calls = 3;
  s.statements.push_back(m);
  StatementMetrics later = m;
  later.include_text = false;
  s.statements.push_back(later);
  auto j = nlohmann::json::parse(SnapshotToJson(s));
  for (const char* f : {"protocol", "snapshot_id", "database", "collected_at", "window_s", "server",
                        "kpis", "statements", "remainder", "sampling"}) {
    EXPECT_TRUE(j.contains(f)) << f;
  }
  const auto& st = j["statements"][0];
  for (const char* f :
       {"queryid", "fingerprint", "text", "calls", "total_exec_time_ms", "mean_exec_time_ms",
        "rows", "shared_blks_hit", "shared_blks_read", "shared_blks_written", "temp_blks_read",
        "temp_blks_written", "time_pct", "score", "duration_class", "sample_weight"}) {
    EXPECT_TRUE(st.contains(f)) << f;
  }
  EXPECT_EQ(st["queryid"], "-1234567890123456789");  // a string: JSON numbers lose 64-bit ids
  EXPECT_TRUE(st["text"].is_null());
  EXPECT_FALSE(j["statements"][1].contains("text"));  // text only the first time
  EXPECT_EQ(j["protocol"], "1.0");
}

}  // namespace
}  // namespace optischema::protocol

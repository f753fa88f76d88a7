#include "protocol/snapshot_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "protocol/advice_json.h"
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

TEST(JsonWriter, CopiesPlainRunsAroundEscapes) {
  std::string out;
  JsonWriter w(out);
  const std::string plain(5000, 'a');
  w.String(plain + "\"" + plain + "\n\xC3\xA9" + plain);
  EXPECT_EQ(out, "\"" + plain + "\\\"" + plain + "\\n\xC3\xA9" + plain + "\"");
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

TEST(JsonWriter, PlainKeyWritesWhatKeyWrites) {
  std::string a;
  std::string b;
  JsonWriter wa(a);
  JsonWriter wb(b);
  wa.BeginObject();
  wb.BeginObject();
  for (const char* key : {"calls", "total_exec_time_ms", "", "a b-c.d_e!~"}) {
    wa.Key(key);
    wa.Int(1);
    wb.PlainKey(key);
    wb.Int(1);
  }
  wa.Key("nested");
  wb.PlainKey("nested");
  wa.BeginObject();
  wb.BeginObject();
  wa.Key("x");
  wb.PlainKey("x");
  wa.Null();
  wb.Null();
  wa.EndObject();
  wb.EndObject();
  wa.EndObject();
  wb.EndObject();
  EXPECT_EQ(a, b);
  EXPECT_EQ(b, R"({"calls":1,"total_exec_time_ms":1,"":1,"a b-c.d_e!~":1,"nested":{"x":null}})");
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

TEST(SnapshotJson, CarriesTheExtraCountersOfTheExtensionVersionAndNoOthers) {
  Snapshot s;
  StatementMetrics m;
  m.include_text = true;
  m.text = "SELECT $1";
  m.text_source = TextSource::kScanner;
  m.extra.fill(2);
  s.statements.push_back(m);
  s.remainder.extra.fill(-0.5);
  s.server.extra_counters = ExtraCountersOfVersion(1, 12);
  auto v112 = nlohmann::json::parse(SnapshotToJson(s));
  for (const ExtraCounterSpec& c : kExtraCounters) {
    EXPECT_TRUE(v112["statements"][0].contains(c.name)) << c.name;
    EXPECT_TRUE(v112["remainder"].contains(c.name)) << c.name;
  }
  EXPECT_TRUE(v112["statements"][0]["parallel_workers_launched"].is_number_integer());
  EXPECT_EQ(v112["statements"][0]["wal_buffers_full"], 2);
  EXPECT_EQ(v112["remainder"]["jit_deform_time_ms"], -0.5);
  EXPECT_EQ(v112["statements"][0]["text_source"], "scanner");

  s.server.extra_counters = ExtraCountersOfVersion(1, 8);
  auto v18 = nlohmann::json::parse(SnapshotToJson(s));
  EXPECT_TRUE(v18["statements"][0].contains("wal_fpi"));
  for (const char* absent : {"temp_blk_read_time_ms", "jit_functions", "shared_blk_read_time_ms",
                             "jit_deform_count", "wal_buffers_full", "parallel_workers_launched"}) {
    EXPECT_FALSE(v18["statements"][0].contains(absent)) << absent;
    EXPECT_FALSE(v18["remainder"].contains(absent)) << absent;
  }
}

TEST(SnapshotJson, WritesMeasuredValuesToSixDecimalsAndSampleWeightsExactly) {
  Snapshot s;
  StatementMetrics m;
  m.window.total_exec_time_ms = 14.248304999999998;  // a difference of two cumulative times
  m.mean_exec_time_ms = 2.0000000004;
  m.time_pct = 4.80594683556192;
  m.sample_weight = 1.0 / 3.0;
  s.statements.push_back(m);
  s.remainder.window.total_exec_time_ms = 2e12 + 0.5;  // too large to scale: as is
  const std::string json = SnapshotToJson(s);
  EXPECT_NE(json.find("\"total_exec_time_ms\":14.248305,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"mean_exec_time_ms\":2,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"time_pct\":4.805947,"), std::string::npos) << json;
  const auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["statements"][0]["sample_weight"].get<double>(), 1.0 / 3.0);
  EXPECT_EQ(j["remainder"]["total_exec_time_ms"].get<double>(), 2e12 + 0.5);
}

TEST(SnapshotJson, AdviceMembersOnlyInTheSnapshotCarryingAdvice) {
  Snapshot s;
  s.snapshot_id = "id-2";
  s.database = "orders";
  auto plain = nlohmann::json::parse(SnapshotToJson(s));
  for (const char* f : {"indexes", "index_findings", "schema", "proposals", "advisor"}) {
    EXPECT_FALSE(plain.contains(f)) << f;
  }

  Advice advice;
  advice.stats.stats_since = "2026-11-01T00:00:00Z";
  IndexStat index;
  index.schema = "public";
  index.table = "t";
  index.name = "t_a";
  index.columns = {"a", "(lower(b))"};
  advice.indexes.push_back(index);
  IndexFinding finding;
  finding.kind = FindingKind::kRedundant;
  finding.index = "t_a";
  finding.covered_by = "t_a_b";
  advice.findings.push_back(finding);
  IndexProposal create;
  create.kind = "create_index";
  create.schema = "public";
  create.table = "t";
  create.columns = {"c"};
  create.table_digest = "ab12";
  create.statements = {{-9007199254740993, 4000, 8}};
  advice.proposals.push_back(create);
  IndexProposal drop;
  drop.kind = "drop_index";
  drop.schema = "public";
  drop.table = "t";
  drop.index = "t_a";
  advice.proposals.push_back(drop);
  advice.schema = SchemaReport{};
  advice.schema->digests["public.t"] = "ab12";
  s.advice = advice;

  auto j = nlohmann::json::parse(SnapshotToJson(s));
  EXPECT_EQ(j["indexes"][0]["columns"][1], "(lower(b))");
  EXPECT_TRUE(j["indexes"][0]["scans_window"].is_null());  // no window at the first run
  EXPECT_EQ(j["index_findings"][0]["kind"], "redundant");
  EXPECT_EQ(j["index_findings"][0]["covered_by"], "t_a_b");
  EXPECT_EQ(j["schema"]["digests"]["public.t"], "ab12");
  const auto& created = j["proposals"][0];
  EXPECT_EQ(created["kind"], "create_index");
  EXPECT_EQ(
      created["spec"],
      nlohmann::json::parse(R"({"schema":"public","table":"t","columns":["c"],"method":"btree"})"));
  EXPECT_EQ(created["affected_queryids"][0], "-9007199254740993");
  EXPECT_EQ(created["table_digest"], "ab12");
  EXPECT_EQ(j["proposals"][1]["spec"],
            nlohmann::json::parse(R"({"schema":"public","index":"t_a"})"));
  EXPECT_TRUE(j.contains("advisor"));
}

TEST(SnapshotJson, TableHealthVacuumFindingsAndTableProposalsAreWrittenWithTheirSpecs) {
  Advice advice;
  TableHealthReport report;
  report.settings.autovacuum = false;
  report.settings.freeze_max_age = 100000;
  TableHealth table;
  table.schema = "public";
  table.name = "t";
  table.dead_tuples = 1000000;
  table.xid_age = 90000;
  table.last_autovacuum_age_s = 7200.5;
  table.options = {{"autovacuum_enabled", "false"}};
  table.read_by = {-9007199254740993};
  report.tables.push_back(table);
  report.tables_omitted = 3;
  advice.table_health = report;
  VacuumFinding finding;
  finding.kind = VacuumFindingKind::kDeadTuples;
  finding.schema = "public";
  finding.table = "t";
  finding.severity = "critical";
  finding.metric = "n_dead_tup";
  finding.value = 1000000;
  finding.threshold = 50;
  finding.reason = "dead";
  advice.vacuum_findings.push_back(finding);
  IndexProposal options;
  options.kind = "set_table_options";
  options.schema = "public";
  options.table = "t";
  options.table_options = {{"autovacuum_enabled", "true"}};
  options.queryids = {5};
  IndexProposal analyze;
  analyze.kind = "analyze_table";
  analyze.schema = "public";
  analyze.table = "t";
  advice.proposals = {options, analyze};

  const auto j = nlohmann::json::parse(AdviceToJson("orders", advice));

  const auto& health = j["table_health"];
  EXPECT_EQ(health["settings"]["autovacuum"], false);
  EXPECT_EQ(health["settings"]["autovacuum_freeze_max_age"], 100000);
  EXPECT_EQ(health["tables_omitted"], 3);
  const auto& t = health["tables"][0];
  EXPECT_EQ(t["table"], "t");
  EXPECT_EQ(t["n_dead_tup"], 1000000);
  EXPECT_EQ(t["xid_age"], 90000);
  EXPECT_EQ(t["last_autovacuum_age_s"].get<double>(), 7200.5);
  EXPECT_TRUE(t["last_vacuum_age_s"].is_null());
  EXPECT_EQ(t["options"]["autovacuum_enabled"], "false");
  EXPECT_EQ(t["read_by"][0], "-9007199254740993");
  const auto& f = j["vacuum_findings"][0];
  EXPECT_EQ(f["kind"], "dead_tuples");
  EXPECT_EQ(f["severity"], "critical");
  EXPECT_EQ(f["metric"], "n_dead_tup");
  EXPECT_EQ(f["value"], 1000000);
  EXPECT_EQ(f["threshold"], 50);
  EXPECT_TRUE(f["since_s"].is_null());
  EXPECT_EQ(j["proposals"][0]["spec"],
            nlohmann::json::parse(R"({"schema":"public","table":"t",
                                      "options":{"autovacuum_enabled":"true"}})"));
  EXPECT_EQ(j["proposals"][0]["affected_queryids"], nlohmann::json::parse(R"(["5"])"));
  EXPECT_EQ(j["proposals"][1]["kind"], "analyze_table");
  EXPECT_EQ(j["proposals"][1]["spec"], nlohmann::json::parse(R"({"schema":"public","table":"t"})"));
}

TEST(SnapshotJson, AdviceWithoutTableHealthHasNoTableHealthMember) {
  const auto j = nlohmann::json::parse(AdviceToJson("orders", Advice{}));
  EXPECT_FALSE(j.contains("table_health"));
  EXPECT_TRUE(j["vacuum_findings"].is_array());
}

}  // namespace
}  // namespace optischema::protocol

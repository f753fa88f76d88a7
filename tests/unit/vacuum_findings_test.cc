// Vacuum findings from table health readings: each at, just below and just above its threshold,
// per-table options over server settings, dead tuple growth across runs, and the table changes
// proposed from them.

#include "advisor/vacuum_findings.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace optischema::advisor {
namespace {

using protocol::VacuumFinding;
using protocol::VacuumFindingKind;

// A table of 1000 rows that was vacuumed and analyzed a minute ago: no finding.
TableHealthReading Table(const std::string& name = "t", uint32_t oid = 1) {
  TableHealthReading r;
  r.oid = oid;
  r.health.schema = "public";
  r.health.name = name;
  r.health.reltuples = 1000;
  r.health.live_tuples = 1000;
  r.health.last_autovacuum_age_s = 60;
  r.health.last_autoanalyze_age_s = 60;
  return r;
}

TableHealthReadings Readings(std::vector<TableHealthReading> tables) {
  TableHealthReadings readings;
  readings.tables = std::move(tables);
  return readings;
}

std::vector<VacuumFinding> Of(VacuumFindingKind kind, const TableHealthReadings& readings,
                              const DeadTupleHistory& history = {}) {
  std::vector<VacuumFinding> out;
  for (VacuumFinding& f : FindVacuumProblems(readings, history)) {
    if (f.kind == kind) out.push_back(std::move(f));
  }
  return out;
}

// Default server settings: vacuum threshold 50 + 0.2 x 1000 rows = 250.
TEST(VacuumFindings, DeadTuplesAreFoundJustAboveTheVacuumThresholdOfANeverVacuumedTable) {
  TableHealthReading t = Table();
  t.health.last_autovacuum_age_s.reset();
  for (const auto& [dead, found] : std::map<int64_t, bool>{{249, false}, {250, false},
                                                           {251, true}}) {
    t.health.dead_tuples = dead;
    const auto findings = Of(VacuumFindingKind::kDeadTuples, Readings({t}));
    ASSERT_EQ(findings.size(), found ? 1U : 0U) << dead;
    if (found) {
      EXPECT_EQ(findings[0].value, 251);
      EXPECT_EQ(findings[0].threshold, 250);
      EXPECT_EQ(findings[0].metric, "n_dead_tup");
      EXPECT_FALSE(findings[0].since_s.has_value());
      EXPECT_NE(findings[0].reason.find("never vacuumed"), std::string::npos)
          << findings[0].reason;
    }
  }
}

TEST(VacuumFindings, DeadTuplesCountOnlyWhenTheLastVacuumIsOlderThanTheLimit) {
  TableHealthReading t = Table();
  t.health.dead_tuples = 10000;
  t.health.last_vacuum_age_s = 7200;
  t.health.last_autovacuum_age_s = kVacuumLimitS;
  EXPECT_TRUE(Of(VacuumFindingKind::kDeadTuples, Readings({t})).empty());
  t.health.last_autovacuum_age_s = kVacuumLimitS + 1;
  const auto findings = Of(VacuumFindingKind::kDeadTuples, Readings({t}));
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].since_s, kVacuumLimitS + 1);
  EXPECT_EQ(findings[0].severity, "critical");  // more dead than live tuples
}

TEST(VacuumFindings, DeadTuplesOfATableWithAutovacuumDisabledAreFoundWhateverTheLastVacuum) {
  TableHealthReading t = Table();
  t.health.dead_tuples = 251;
  t.health.options["autovacuum_enabled"] = "false";
  const auto findings = Of(VacuumFindingKind::kDeadTuples, Readings({t}));
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].severity, "warning");
  EXPECT_NE(findings[0].reason.find("autovacuum_enabled=false"), std::string::npos);
  t.health.dead_tuples = 250;
  EXPECT_TRUE(Of(VacuumFindingKind::kDeadTuples, Readings({t})).empty());
}

TEST(VacuumFindings, TableOptionsOverrideTheServerVacuumThreshold) {
  TableHealthReading t = Table();
  t.health.last_autovacuum_age_s.reset();
  t.health.options = {{"autovacuum_vacuum_threshold", "0"},
                      {"autovacuum_vacuum_scale_factor", "0.01"}};
  t.health.dead_tuples = 10;  // threshold 0 + 0.01 x 1000 = 10
  EXPECT_TRUE(Of(VacuumFindingKind::kDeadTuples, Readings({t})).empty());
  t.health.dead_tuples = 11;
  const auto findings = Of(VacuumFindingKind::kDeadTuples, Readings({t}));
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].threshold, 10);
}

TEST(VacuumFindings, RowsAreTheLiveTuplesWhileReltuplesIsUnknown) {
  TableHealthReading t = Table();
  t.health.last_autovacuum_age_s.reset();
  t.health.reltuples = -1;
  t.health.live_tuples = 0;
  t.health.dead_tuples = 51;  // threshold 50 + 0.2 x 0
  const auto findings = Of(VacuumFindingKind::kDeadTuples, Readings({t}));
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].threshold, 50);
}

TEST(VacuumFindings, WraparoundIsFoundFromTheFractionOfTheFreezeMaxAge) {
  TableHealthReadings readings = Readings({Table()});
  readings.settings.freeze_max_age = 100000;  // threshold 80,000
  for (const auto& [age, found] : std::map<int64_t, bool>{{79999, false}, {80000, true},
                                                          {80001, true}}) {
    readings.tables[0].health.xid_age = age;
    const auto findings = Of(VacuumFindingKind::kWraparound, readings);
    ASSERT_EQ(findings.size(), found ? 1U : 0U) << age;
    if (found) {
      EXPECT_EQ(findings[0].metric, "age(relfrozenxid)");
      EXPECT_EQ(findings[0].threshold, 80000);
      EXPECT_EQ(findings[0].severity, "warning");
    }
  }
}

TEST(VacuumFindings, ALowerTableFreezeMaxAgeCountsAndAHigherOneIsIgnored) {
  TableHealthReadings readings = Readings({Table()});
  readings.settings.freeze_max_age = 200000000;
  readings.tables[0].health.xid_age = 40000;
  readings.tables[0].health.options["autovacuum_freeze_max_age"] = "50000";
  auto findings = Of(VacuumFindingKind::kWraparound, readings);
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].threshold, 40000);

  readings.settings.freeze_max_age = 100000;
  readings.tables[0].health.xid_age = 79999;
  readings.tables[0].health.options["autovacuum_freeze_max_age"] = "1000000";
  EXPECT_TRUE(Of(VacuumFindingKind::kWraparound, readings).empty());
}

TEST(VacuumFindings, MultixactAgeIsAWraparoundFindingOfItsOwnAndCriticalNearTheLimit) {
  TableHealthReadings readings = Readings({Table()});
  readings.tables[0].health.mxid_age = kWraparoundCriticalAge;
  const auto findings = Of(VacuumFindingKind::kWraparound, readings);
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].metric, "mxid_age(relminmxid)");
  EXPECT_EQ(findings[0].threshold, 320000000);  // 80% of 400,000,000
  EXPECT_EQ(findings[0].severity, "critical");
}

// Default server settings: analyze threshold 50 + 0.1 x 1000 rows = 150.
TEST(VacuumFindings, StaleStatisticsAreFoundJustAboveTheAnalyzeThreshold) {
  TableHealthReading t = Table();
  t.health.last_autoanalyze_age_s = kAnalyzeLimitS + 1;
  t.health.read_by = {42};
  for (const auto& [changed, found] : std::map<int64_t, bool>{{149, false}, {150, false},
                                                              {151, true}}) {
    t.health.mod_since_analyze = changed;
    const auto findings = Of(VacuumFindingKind::kStaleStatistics, Readings({t}));
    ASSERT_EQ(findings.size(), found ? 1U : 0U) << changed;
    if (found) {
      EXPECT_EQ(findings[0].threshold, 150);
      EXPECT_EQ(findings[0].queryids, std::vector<int64_t>{42});
    }
  }
  t.health.last_analyze_age_s = kAnalyzeLimitS;  // analyzed by hand within the limit
  EXPECT_TRUE(Of(VacuumFindingKind::kStaleStatistics, Readings({t})).empty());
}

TEST(VacuumFindings, TableAnalyzeOptionsOverrideTheServerAnalyzeThreshold) {
  TableHealthReading t = Table();
  t.health.last_autoanalyze_age_s.reset();
  t.health.mod_since_analyze = 151;
  t.health.options["autovacuum_analyze_scale_factor"] = "0.5";  // 50 + 500
  EXPECT_TRUE(Of(VacuumFindingKind::kStaleStatistics, Readings({t})).empty());
  t.health.mod_since_analyze = 551;
  EXPECT_EQ(Of(VacuumFindingKind::kStaleStatistics, Readings({t})).size(), 1U);
}

TEST(VacuumFindings, DeadTuplesGrowingAcrossRunsWhileAutovacuumRanAreNotKeepingUp) {
  TableHealthReading t = Table();
  t.health.dead_tuples = 900;
  t.health.autovacuum_count = 5;
  const DeadTupleHistory growing = {{1, {{300, 4}, {600, 5}}}};
  const auto findings = Of(VacuumFindingKind::kVacuumNotKeepingUp, Readings({t}), growing);
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].value, 900);
  EXPECT_EQ(findings[0].threshold, 250);
  EXPECT_NE(findings[0].reason.find("from 300 to 900"), std::string::npos) << findings[0].reason;

  const DeadTupleHistory flat = {{1, {{300, 4}, {300, 5}}}};
  EXPECT_TRUE(Of(VacuumFindingKind::kVacuumNotKeepingUp, Readings({t}), flat).empty());
  const DeadTupleHistory no_autovacuum = {{1, {{300, 5}, {600, 5}}}};
  EXPECT_TRUE(Of(VacuumFindingKind::kVacuumNotKeepingUp, Readings({t}), no_autovacuum).empty());
  const DeadTupleHistory one_run = {{1, {{600, 4}}}};
  EXPECT_TRUE(Of(VacuumFindingKind::kVacuumNotKeepingUp, Readings({t}), one_run).empty());
  t.health.dead_tuples = 250;  // grew, but not past the vacuum threshold
  const DeadTupleHistory small = {{1, {{100, 4}, {200, 5}}}};
  EXPECT_TRUE(Of(VacuumFindingKind::kVacuumNotKeepingUp, Readings({t}), small).empty());
}

TEST(VacuumFindings, HistoryKeepsTheLatestRunsOfTheTablesReadNow) {
  TableHealthReading t = Table("t", 1);
  t.health.dead_tuples = 30;
  t.health.autovacuum_count = 3;
  const DeadTupleHistory previous = {{1, {{10, 1}, {20, 2}}}, {2, {{5, 0}}}};
  const DeadTupleHistory next = NextDeadTupleHistory(previous, Readings({t}));
  const DeadTupleHistory expected = {{1, {{20, 2}, {30, 3}}}};
  EXPECT_EQ(next, expected);
}

TEST(VacuumProposals, DisabledAutovacuumIsEnabledAndALaxScaleFactorLowered) {
  TableHealthReading t = Table();
  t.health.dead_tuples = 5000;
  t.health.read_by = {7};
  t.health.options["autovacuum_enabled"] = "false";
  const TableHealthReadings readings = Readings({t});
  const auto proposals = ProposeTableChanges(FindVacuumProblems(readings, {}), readings);
  ASSERT_EQ(proposals.size(), 1U);
  EXPECT_EQ(proposals[0].kind, "set_table_options");
  const std::map<std::string, std::string> expected = {
      {"autovacuum_enabled", "true"}, {"autovacuum_vacuum_scale_factor", "0.05"}};
  EXPECT_EQ(proposals[0].table_options, expected);
  EXPECT_EQ(proposals[0].queryids, std::vector<int64_t>{7});
  EXPECT_NE(proposals[0].reason.find("5000 dead tuples"), std::string::npos);
}

TEST(VacuumProposals, OptionsAlreadyInPlaceAreNotProposedAgain) {
  TableHealthReading t = Table();
  t.health.dead_tuples = 5000;
  t.health.last_autovacuum_age_s.reset();
  t.health.options["autovacuum_enabled"] = "true";
  t.health.options["autovacuum_vacuum_scale_factor"] = "0.05";
  const TableHealthReadings readings = Readings({t});
  const auto findings = FindVacuumProblems(readings, {});
  ASSERT_EQ(Of(VacuumFindingKind::kDeadTuples, readings).size(), 1U);
  EXPECT_TRUE(ProposeTableChanges(findings, readings).empty());
}

TEST(VacuumProposals, BigTablesGetTheLowerScaleFactor) {
  TableHealthReading t = Table();
  t.health.reltuples = kBigTableRows;
  t.health.dead_tuples = 3'000'000;
  t.health.last_autovacuum_age_s.reset();
  const TableHealthReadings readings = Readings({t});
  const auto proposals = ProposeTableChanges(FindVacuumProblems(readings, {}), readings);
  ASSERT_EQ(proposals.size(), 1U);
  const std::map<std::string, std::string> expected = {{"autovacuum_vacuum_scale_factor", "0.01"}};
  EXPECT_EQ(proposals[0].table_options, expected);
}

TEST(VacuumProposals, StaleStatisticsAreAnalyzedTablesReadByTopStatementsFirst) {
  TableHealthReading unread = Table("a", 1);
  unread.health.mod_since_analyze = 100000;
  unread.health.last_autoanalyze_age_s.reset();
  TableHealthReading read = Table("b", 2);
  read.health.mod_since_analyze = 200;
  read.health.last_autoanalyze_age_s.reset();
  read.health.read_by = {9};
  const TableHealthReadings readings = Readings({unread, read});
  const auto proposals = ProposeTableChanges(FindVacuumProblems(readings, {}), readings);
  ASSERT_EQ(proposals.size(), 2U);
  EXPECT_EQ(proposals[0].kind, "analyze_table");
  EXPECT_EQ(proposals[0].table, "b");
  EXPECT_EQ(proposals[0].queryids, std::vector<int64_t>{9});
  EXPECT_EQ(proposals[1].table, "a");
  EXPECT_TRUE(proposals[1].table_options.empty());
}

TEST(TableHealthReport, TablesWithFindingsComeFirstThenByDeadTuples) {
  TableHealthReading quiet = Table("quiet", 1);
  quiet.health.dead_tuples = 100;
  TableHealthReading busy = Table("busy", 2);
  busy.health.dead_tuples = 200;
  TableHealthReading bad = Table("bad", 3);
  bad.health.xid_age = 180'000'000;
  const TableHealthReadings readings = Readings({quiet, busy, bad});
  const auto report = BuildTableHealthReport(readings, FindVacuumProblems(readings, {}));
  ASSERT_EQ(report.tables.size(), 3U);
  EXPECT_EQ(report.tables[0].name, "bad");
  EXPECT_EQ(report.tables[1].name, "busy");
  EXPECT_EQ(report.tables[2].name, "quiet");
}

TEST(TableOptions, OnlyAllowListedNamesAndValidValuesAreKeptInCanonicalForm) {
  std::map<std::string, std::string> options;
  AddTableOption("autovacuum_enabled=off", "", options);
  AddTableOption("autovacuum_vacuum_scale_factor=0.05", "", options);
  AddTableOption("autovacuum_vacuum_threshold=1e3", "", options);
  AddTableOption("fillfactor=50", "", options);
  AddTableOption("autovacuum_enabled=maybe", "toast.", options);
  AddTableOption("autovacuum_vacuum_cost_limit=200", "toast.", options);
  const std::map<std::string, std::string> expected = {
      {"autovacuum_enabled", "false"},
      {"autovacuum_vacuum_scale_factor", "0.05"},
      {"toast.autovacuum_vacuum_cost_limit", "200"}};
  EXPECT_EQ(options, expected);
}

}  // namespace
}  // namespace optischema::advisor

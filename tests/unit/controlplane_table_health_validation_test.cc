// The snapshot's table health and vacuum findings as the control plane checks them: optional,
// typed and bounded.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "controlplane/snapshot_validation.h"
#include "protocol/advice_json.h"
#include "protocol/snapshot_json.h"

namespace optischema::controlplane {
namespace {

constexpr char kAgent[] = "0b8a3c1e-1111-4222-8333-444455556666";

nlohmann::json SnapshotWithTableHealth() {
  protocol::Snapshot snapshot;
  snapshot.snapshot_id = "s-1";
  snapshot.agent_id = kAgent;
  snapshot.database = "orders";
  snapshot.collected_at = "2026-11-21T22:30:05.123Z";
  protocol::Advice advice;
  protocol::TableHealthReport report;
  protocol::TableHealth table;
  table.schema = "public";
  table.name = "t";
  table.last_vacuum_age_s = 12.5;
  table.options = {{"autovacuum_enabled", "false"}};
  table.read_by = {-5};
  report.tables.push_back(table);
  advice.table_health = report;
  protocol::VacuumFinding finding;
  finding.schema = "public";
  finding.table = "t";
  finding.severity = "warning";
  finding.metric = "n_dead_tup";
  finding.queryids = {9};
  advice.vacuum_findings.push_back(finding);
  snapshot.advice = advice;
  return nlohmann::json::parse(protocol::SnapshotToJson(snapshot));
}

std::string Refusal(const nlohmann::json& snapshot) {
  auto record = ValidateSnapshot(snapshot, kAgent, "");
  return record.ok() ? "" : record.error().message;
}

TEST(TableHealthValidation, SnapshotAsTheAgentWritesItPassesAndTheMembersAreOptional) {
  nlohmann::json snapshot = SnapshotWithTableHealth();
  EXPECT_EQ(Refusal(snapshot), "");
  snapshot.erase("table_health");
  snapshot.erase("vacuum_findings");
  EXPECT_EQ(Refusal(snapshot), "");
}

TEST(TableHealthValidation, WrongTypesAreRefusedNamingTheField) {
  nlohmann::json not_object = SnapshotWithTableHealth();
  not_object["table_health"] = "x";
  EXPECT_NE(Refusal(not_object).find("table_health"), std::string::npos);

  nlohmann::json negative = SnapshotWithTableHealth();
  negative["table_health"]["tables"][0]["n_dead_tup"] = -1;
  EXPECT_NE(Refusal(negative).find("n_dead_tup"), std::string::npos);

  nlohmann::json bad_age = SnapshotWithTableHealth();
  bad_age["table_health"]["tables"][0]["last_vacuum_age_s"] = "yesterday";
  EXPECT_NE(Refusal(bad_age).find("last_vacuum_age_s"), std::string::npos);

  nlohmann::json bad_queryid = SnapshotWithTableHealth();
  bad_queryid["vacuum_findings"][0]["queryids"][0] = 9;
  EXPECT_NE(Refusal(bad_queryid).find("queryids"), std::string::npos);

  nlohmann::json bad_kind = SnapshotWithTableHealth();
  bad_kind["vacuum_findings"][0]["kind"] = "bloat";
  EXPECT_NE(Refusal(bad_kind).find("kind"), std::string::npos);
}

TEST(TableHealthValidation, MoreTablesThanAnAgentReadsAreRefused) {
  nlohmann::json snapshot = SnapshotWithTableHealth();
  const nlohmann::json table = snapshot["table_health"]["tables"][0];
  snapshot["table_health"]["tables"] = nlohmann::json::array();
  for (int i = 0; i < 2001; ++i) snapshot["table_health"]["tables"].push_back(table);
  EXPECT_NE(Refusal(snapshot).find("more than 2000 tables"), std::string::npos);
}

}  // namespace
}  // namespace optischema::controlplane

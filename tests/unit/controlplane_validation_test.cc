// The control plane's checks on what agents send, against the JSON the agent itself produces.

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "collector/activity_window.h"
#include "controlplane/message_validation.h"
#include "controlplane/snapshot_validation.h"
#include "protocol/activity_json.h"
#include "protocol/advice_json.h"
#include "protocol/messages.h"
#include "protocol/snapshot_json.h"

namespace optischema::controlplane {
namespace {

constexpr char kAgent[] = "0b8a3c1e-1111-4222-8333-444455556666";
constexpr char kSnapshotId[] = "6f1d2c3b-aaaa-4bbb-8ccc-dddddddddddd";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A snapshot as the agent serializes it: two statements, a sampled remainder with a negative
// correction.
nlohmann::json AgentSnapshot() {
  protocol::Snapshot snapshot;
  snapshot.snapshot_id = kSnapshotId;
  snapshot.agent_id = kAgent;
  snapshot.database = "orders";
  snapshot.collected_at = "2026-11-21T22:30:05.123Z";
  snapshot.window_s = 30;
  for (int64_t queryid : {INT64_MIN, int64_t{42}}) {
    protocol::StatementMetrics s;
    s.queryid = queryid;
    s.fingerprint = "ab12";
    s.window.calls = 3;
    s.window.total_exec_time_ms = 1.25;
    s.sample_weight = 4;
    snapshot.statements.push_back(s);
  }
  snapshot.remainder.statements = 9;
  snapshot.remainder.window.calls = -0.5;
  snapshot.remainder.window.total_exec_time_ms = -1e-9;
  snapshot.sampling.applied = true;
  snapshot.server.extra_counters = protocol::ExtraCountersOfVersion(1, 12);
  return nlohmann::json::parse(protocol::SnapshotToJson(snapshot));
}

// The message of the error ValidateSnapshot gives for `snapshot`, or "" when it passes.
std::string SnapshotError(const nlohmann::json& snapshot, const std::string& idempotency_key = "") {
  auto record = ValidateSnapshot(snapshot, kAgent, idempotency_key);
  if (record.ok()) return "";
  EXPECT_EQ(record.error().code, ErrorCode::kInvalidArgument);
  return record.error().message;
}

TEST(SnapshotValidation, SnapshotAsTheAgentSendsItPassesWithItsSummary) {
  auto record = ValidateSnapshot(AgentSnapshot(), kAgent, kSnapshotId);

  ASSERT_TRUE(record.ok()) << record.error().message;
  EXPECT_EQ(record->agent_id, kAgent);
  EXPECT_EQ(record->snapshot_id, kSnapshotId);
  EXPECT_EQ(record->database, "orders");
  EXPECT_EQ(record->collected_at, "2026-11-21T22:30:05.123Z");
  EXPECT_EQ(record->statements, 2);
}

TEST(SnapshotValidation, NegativeOrFractionalStatementCounterIsRefusedNamingTheField) {
  struct Case {
    const char* field;
    nlohmann::json value;
  };
  for (const Case& c : {Case{"calls", -1}, Case{"calls", 1.5}, Case{"total_exec_time_ms", -0.1},
                        Case{"shared_blks_read", "7"}, Case{"wal_bytes", nullptr}}) {
    nlohmann::json snapshot = AgentSnapshot();
    snapshot["statements"][1][c.field] = c.value;

    EXPECT_TRUE(Contains(SnapshotError(snapshot), std::string("statements[1].") + c.field))
        << c.field << " = " << c.value.dump();
  }
}

TEST(SnapshotValidation, ExtraCountersAreOptionalButCheckedAndTextSourceIsParserOrScanner) {
  nlohmann::json snapshot = AgentSnapshot();
  ASSERT_TRUE(snapshot["statements"][0].contains("parallel_workers_launched"));
  snapshot["statements"][0].erase("parallel_workers_launched");  // an older extension version
  ASSERT_EQ(SnapshotError(snapshot), "");

  snapshot["statements"][1]["jit_functions"] = 2.5;
  EXPECT_TRUE(Contains(SnapshotError(snapshot), "statements[1].jit_functions"));
  snapshot["statements"][1]["jit_functions"] = 2;
  snapshot["remainder"]["wal_buffers_full"] = "1";
  EXPECT_TRUE(Contains(SnapshotError(snapshot), "remainder.wal_buffers_full"));
  snapshot["remainder"]["wal_buffers_full"] = -1.5;
  ASSERT_EQ(SnapshotError(snapshot), "");

  snapshot["statements"][0]["text"] = "SELECT $1";
  snapshot["statements"][0]["text_source"] = "scanner";
  ASSERT_EQ(SnapshotError(snapshot), "");
  snapshot["statements"][0]["text_source"] = "raw";
  EXPECT_TRUE(Contains(SnapshotError(snapshot), "statements[0].text_source"));
}

TEST(SnapshotValidation, MissingStatementCounterIsRefused) {
  nlohmann::json snapshot = AgentSnapshot();
  snapshot["statements"][0].erase("temp_blks_written");

  EXPECT_EQ(SnapshotError(snapshot), "statements[0].temp_blks_written: missing");
}

TEST(SnapshotValidation, RemainderCorrectionsMayBeNegativeButMustBeNumbers) {
  nlohmann::json snapshot = AgentSnapshot();
  snapshot["remainder"]["rows"] = -12.5;
  ASSERT_EQ(SnapshotError(snapshot), "");

  snapshot["remainder"]["rows"] = "-12.5";
  EXPECT_EQ(SnapshotError(snapshot), "remainder.rows: expected a number");
}

TEST(SnapshotValidation, QueryidIsADecimal64BitIntegerInAString) {
  for (const nlohmann::json& bad : {nlohmann::json(42), nlohmann::json("12a"),
                                    nlohmann::json("9223372036854775808"), nlohmann::json("")}) {
    nlohmann::json snapshot = AgentSnapshot();
    snapshot["statements"][0]["queryid"] = bad;

    EXPECT_TRUE(Contains(SnapshotError(snapshot), "statements[0].queryid")) << bad.dump();
  }
}

TEST(SnapshotValidation, SnapshotIdMustBeShortPlainAndEqualToTheIdempotencyKey) {
  for (const std::string& bad :
       std::vector<std::string>{"", "has space", "semi;colon", std::string(65, 'a')}) {
    nlohmann::json snapshot = AgentSnapshot();
    snapshot["snapshot_id"] = bad;
    EXPECT_TRUE(Contains(SnapshotError(snapshot), "snapshot_id")) << bad;
  }
  EXPECT_EQ(SnapshotError(AgentSnapshot(), "another-id"),
            "snapshot_id: differs from the Idempotency-Key header");
}

TEST(SnapshotValidation, AdviceMembersAreCheckedByTypeOnly) {
  protocol::Advice advice;
  protocol::IndexProposal proposal;
  proposal.kind = "create_index";
  advice.proposals = {proposal, proposal};
  nlohmann::json with_advice = AgentSnapshot();
  with_advice.update(nlohmann::json::parse(protocol::AdviceToJson("orders", advice)));
  with_advice["proposals"][1] = "not a proposal: checked when stored";
  ASSERT_EQ(SnapshotError(with_advice), "");

  for (const char* key : {"index_stats", "schema", "advisor"}) {
    nlohmann::json snapshot = AgentSnapshot();
    snapshot[key] = nlohmann::json::array();
    EXPECT_EQ(SnapshotError(snapshot), std::string(key) + ": expected an object");
  }
  for (const char* key : {"indexes", "index_findings", "proposals"}) {
    nlohmann::json snapshot = AgentSnapshot();
    snapshot[key] = nlohmann::json::object();
    EXPECT_EQ(SnapshotError(snapshot), std::string(key) + ": expected an array");
  }
}

// The agent's snapshot with the activity of one sample: an idle transaction blocking two
// sessions in a chain of depth 2.
nlohmann::json SnapshotWithActivity() {
  collector::ActivityWindowOptions options;
  options.idle_in_transaction_warn_s = 60;
  collector::ActivityWindow window(options);
  collector::SessionSample idle;
  idle.pid = 10;
  idle.backend_type = "client backend";
  idle.state = "idle in transaction";
  idle.queryid = 7;
  idle.xact_age_s = 100;
  idle.state_age_s = 90;
  idle.locks_held = 2;
  collector::SessionSample first;
  first.pid = 11;
  first.backend_type = "client backend";
  first.state = "active";
  first.wait_event_type = "Lock";
  first.wait_event = "transactionid";
  first.queryid = INT64_MIN;
  first.state_age_s = 5;
  first.blocked_by = {10};
  collector::SessionSample second = first;
  second.pid = 12;
  second.blocked_by = {11};
  window.Add({idle, first, second});
  nlohmann::json snapshot = AgentSnapshot();
  snapshot["activity"] = nlohmann::json::parse(protocol::ActivityToJson(*window.Summarize()));
  return snapshot;
}

TEST(SnapshotValidation, ActivityAsTheAgentSendsItPassesAndEachFieldIsChecked) {
  nlohmann::json good = SnapshotWithActivity();
  ASSERT_EQ(SnapshotError(good), "");
  ASSERT_EQ(good["activity"]["blocking"][0]["depth"], 2);
  struct Case {
    std::string pointer;
    nlohmann::json value;
    std::string field;
  };
  const std::string secret = "SECRET-VALUE-0451";
  const std::vector<Case> cases = {
      {"/activity", "x", "activity"},
      {"/activity/load", -1, "activity.load"},
      {"/activity/samples", 1.5, "activity.samples"},
      {"/activity/statement_attribution", secret, "activity.statement_attribution"},
      {"/activity/by_wait_class/0/wait_class", std::string(200, 'w'),
       "activity.by_wait_class[0].wait_class"},
      {"/activity/by_statement/0/queryid", secret, "activity.by_statement[0].queryid"},
      {"/activity/blocking/0/root", secret, "activity.blocking[0].root"},
      {"/activity/blocking/0/blocked/1/queryid", 12, "activity.blocking[0].blocked[1].queryid"},
      {"/activity/blocking/0/blocked/1/state_age_s", -2,
       "activity.blocking[0].blocked[1].state_age_s"},
      {"/activity/idle_in_transaction/0/locks_held", secret,
       "activity.idle_in_transaction[0].locks_held"},
      {"/activity/top_waits", nlohmann::json::array(), ""},
  };
  for (const Case& c : cases) {
    nlohmann::json bad = good;
    bad[nlohmann::json::json_pointer(c.pointer)] = c.value;
    const std::string error = SnapshotError(bad);
    if (c.field.empty()) {
      EXPECT_EQ(error, "") << c.pointer;
      continue;
    }
    EXPECT_TRUE(Contains(error, c.field)) << c.pointer << ": " << error;
    EXPECT_FALSE(Contains(error, secret)) << error;
  }
  // Lists longer than the agent ever sends are refused.
  nlohmann::json long_waits = good;
  for (int i = 0; i < 21; ++i)
    long_waits["activity"]["top_waits"].push_back(good["activity"]["top_waits"][0]);
  EXPECT_TRUE(Contains(SnapshotError(long_waits), "activity.top_waits: more than 20"));
  nlohmann::json missing = good;
  missing["activity"].erase("blocking");
  EXPECT_TRUE(Contains(SnapshotError(missing), "activity.blocking"));
}

TEST(SnapshotValidation, AgentIdMustBeTheOneInThePath) {
  nlohmann::json snapshot = AgentSnapshot();
  snapshot["agent_id"] = "11111111-2222-4333-8444-555555555555";

  EXPECT_EQ(SnapshotError(snapshot), "agent_id: differs from the agent in the request path");
}

TEST(SnapshotValidation, ReasonNeverEchoesTheValue) {
  nlohmann::json snapshot = AgentSnapshot();
  snapshot["database"] = nlohmann::json::array({"p4ssw0rd"});

  const std::string reason = SnapshotError(snapshot);

  EXPECT_EQ(reason, "database: expected a string");
  EXPECT_FALSE(Contains(reason, "p4ssw0rd"));
}

TEST(ProtocolCheck, OtherMajorIsRefusedNamingBothVersions) {
  nlohmann::json snapshot = AgentSnapshot();
  snapshot["protocol"] = "2.1";

  EXPECT_EQ(SnapshotError(snapshot),
            "protocol: the agent speaks protocol \"2.1\", this control plane speaks 1.0");
  EXPECT_TRUE(CheckProtocol(nlohmann::json{{"protocol", "1"}}).ok());
  EXPECT_TRUE(CheckProtocol(nlohmann::json{{"protocol", "1.9"}}).ok());
  EXPECT_FALSE(CheckProtocol(nlohmann::json{{"protocol", 1}}).ok());
}

TEST(RegisterValidation, AgentRegistrationPassesWithItsFields) {
  protocol::RegisterRequest request{kAgent, "db-host", "0.1.0", {}};
  request.databases.push_back({"orders", 150004, {"pg_stat_statements 1.10"}});
  const nlohmann::json body = nlohmann::json::parse(protocol::RegisterRequestToJson(request));

  auto agent = ValidateRegisterRequest(body);

  ASSERT_TRUE(agent.ok()) << agent.error().message;
  EXPECT_EQ(agent->agent_id, kAgent);
  EXPECT_EQ(agent->hostname, "db-host");
  EXPECT_EQ(agent->version, "0.1.0");
  EXPECT_EQ(nlohmann::json::parse(agent->databases_json), body["databases"]);
}

TEST(RegisterValidation, AgentIdMustBeACanonicalUuid) {
  EXPECT_TRUE(IsCanonicalUuid(kAgent));
  for (const char* bad :
       {"0B8A3C1E-1111-4222-8333-444455556666", "0b8a3c1e111142228333444455556666",
        "0b8a3c1e-1111-4222-8333-44445555666", "../../etc/passwd"}) {
    EXPECT_FALSE(IsCanonicalUuid(bad)) << bad;
    const nlohmann::json body = {{"protocol", "1.0"},
                                 {"agent_id", bad},
                                 {"hostname", "h"},
                                 {"version", "1"},
                                 {"databases", nlohmann::json::array()}};
    auto agent = ValidateRegisterRequest(body);
    ASSERT_FALSE(agent.ok()) << bad;
    EXPECT_TRUE(Contains(agent.error().message, "agent_id"));
  }
}

TEST(RegisterValidation, DatabaseEntriesNeedNameVersionAndExtensions) {
  const nlohmann::json body = {
      {"protocol", "1.0"},
      {"agent_id", kAgent},
      {"hostname", "h"},
      {"version", "1"},
      {"databases", {{{"name", "orders"}, {"server_version_num", 150004}, {"extensions", {3}}}}}};

  auto agent = ValidateRegisterRequest(body);

  ASSERT_FALSE(agent.ok());
  EXPECT_EQ(agent.error().message, "databases[0].extensions: expected an array of strings");
}

TEST(HeartbeatValidation, AgentHeartbeatPassesAndNegativeCountsDoNot) {
  protocol::Heartbeat heartbeat;
  heartbeat.status = "ok";
  heartbeat.uptime_s = 5;
  heartbeat.recent_errors = {"orders: connection refused"};
  nlohmann::json body = nlohmann::json::parse(protocol::HeartbeatToJson(heartbeat));
  ASSERT_TRUE(ValidateHeartbeat(body).ok());

  body["spool_depth"] = -1;
  const Status st = ValidateHeartbeat(body);

  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "spool_depth: expected a non-negative integer");
}

TEST(JsonBody, OnlyAJsonObjectIsAccepted) {
  EXPECT_TRUE(ParseJsonObject(R"({"a":1})").ok());
  EXPECT_EQ(ParseJsonObject("[1]").error().message, "body: expected a JSON object");
  EXPECT_EQ(ParseJsonObject("{\"a\":").error().message, "body: not valid JSON");
  EXPECT_EQ(ParseJsonObject("").error().message, "body: not valid JSON");
}

}  // namespace
}  // namespace optischema::controlplane

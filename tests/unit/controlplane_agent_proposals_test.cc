// Index proposals of the agent's advisor as the control plane turns them into `proposed`
// recommendations (agent_proposals.h): ids, conversions, guards, refusals and the store step.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "controlplane/agent_proposals.h"
#include "core/time_format.h"
#include "protocol/advice_json.h"
#include "protocol/recommendation.h"
#include "tests/support/manual_clock.h"

namespace optischema::controlplane {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::system_clock;

constexpr char kAgent[] = "0b8a3c1e-1111-4222-8333-444455556666";
constexpr char kDatabase[] = "orders";
constexpr char kDigest[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const system_clock::time_point kNow{std::chrono::seconds(1'790'000'000)};

json CreateIndexElement() {
  return json::parse(R"({
    "kind": "create_index",
    "spec": {"schema": "public", "table": "orders", "columns": ["customer_id"], "method": "btree"},
    "table": "orders",
    "table_digest": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "affected_queryids": ["-123", "456"],
    "statements": [{"queryid": "-123", "cost_before": 4800.5, "cost_after": 8.2},
                   {"queryid": "456", "cost_before": 120, "cost_after": 60}],
    "cost_before": 4920.5, "cost_after": 68.2, "saving_pct": 98.6,
    "index_size_bytes": 5218304,
    "reason": "sequential scans of orders filter on customer_id"
  })");
}

json DropIndexElement() {
  return json::parse(R"({
    "kind": "drop_index",
    "spec": {"schema": "public", "index": "orders_unused_idx"},
    "table": "orders",
    "table_digest": "00ff",
    "affected_queryids": [], "statements": [],
    "cost_before": 0, "cost_after": 0, "saving_pct": 0, "index_size_bytes": 11000000,
    "reason": "unused: no scan in 30 days"
  })");
}

Result<Proposal> Convert(const json& element) {
  return AgentProposal(element, kAgent, kDatabase, kNow);
}

// The message of the refusal of `element`, or "" when it is accepted.
std::string Refusal(const json& element) {
  const Result<Proposal> proposal = Convert(element);
  if (proposal.ok()) return "";
  EXPECT_EQ(proposal.error().code, ErrorCode::kInvalidArgument);
  return proposal.error().message;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(AgentProposal, IdIsTheSameForTheSameProposalAndDiffersForAnotherSpec) {
  json other_columns = CreateIndexElement();
  other_columns["spec"]["columns"] = {"customer_id", "created_at"};
  json other_reason = CreateIndexElement();
  other_reason["reason"] = "worded differently";
  other_reason["affected_queryids"] = {"7"};

  const Result<Proposal> first = Convert(CreateIndexElement());
  const Result<Proposal> again = Convert(CreateIndexElement());
  const Result<Proposal> other_spec = Convert(other_columns);
  const Result<Proposal> same_spec = Convert(other_reason);
  const Result<Proposal> other_database =
      AgentProposal(CreateIndexElement(), kAgent, "billing", kNow + std::chrono::hours(1));

  ASSERT_TRUE(first.ok() && again.ok() && other_spec.ok() && same_spec.ok() && other_database.ok());
  const std::string& id = first->recommendation.id;
  EXPECT_EQ(id.size(), 4U + 32U) << id;
  EXPECT_EQ(id.rfind("adv-", 0), 0U) << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 4), std::string::npos) << id;
  EXPECT_EQ(again->recommendation.id, id);
  EXPECT_EQ(same_spec->recommendation.id, id);
  EXPECT_NE(other_spec->recommendation.id, id);
  EXPECT_NE(other_database->recommendation.id, id);
}

TEST(AgentProposal, IdIsSha256OfAgentDatabaseKindAndCanonicalSpec) {
  // printf 'a\0db\0drop_index\0{"index":"i","schema":"s"}' | sha256sum
  const Result<std::string> id =
      AgentProposalId("a", "db", "drop_index", R"({"index":"i","schema":"s"})");

  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "adv-527965246d5c6ad875fa3a0ba7ac319b");
}

TEST(AgentProposal, SameChangeOnAChangedTableGetsANewId) {
  const Result<std::string> before =
      AgentProposalId("a", "db", "drop_index", R"({"index":"i","schema":"s"})", "00aa");
  const Result<std::string> after =
      AgentProposalId("a", "db", "drop_index", R"({"index":"i","schema":"s"})", "00bb");
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_NE(*before, *after);
  EXPECT_NE(*before, "adv-527965246d5c6ad875fa3a0ba7ac319b");
}

TEST(AgentProposal, CreateIndexBecomesAProposedRecommendationWithTheCreateGuard) {
  const Result<Proposal> proposal = Convert(CreateIndexElement());

  ASSERT_TRUE(proposal.ok()) << proposal.error().message;
  const protocol::Recommendation& r = proposal->recommendation;
  EXPECT_EQ(r.agent_id, kAgent);
  EXPECT_EQ(r.database, kDatabase);
  const auto& spec = std::get<protocol::CreateIndexSpec>(r.spec);
  EXPECT_EQ(spec.table, "orders");
  EXPECT_EQ(spec.columns, std::vector<std::string>{"customer_id"});
  EXPECT_EQ(r.guard.verify_window_s, 900);
  EXPECT_EQ(r.guard.max_regression_pct, 20);
  EXPECT_TRUE(r.guard.auto_rollback);
  EXPECT_EQ(proposal->expires_at, FormatRfc3339(kNow + kDefaultLifetime));
  EXPECT_TRUE(r.approved_by.empty());
  EXPECT_FALSE(r.signature.has_value());
}

TEST(AgentProposal, QueryidsAreConvertedFromDecimalStringsIncludingNegativeOnes) {
  json element = CreateIndexElement();
  element["affected_queryids"] = {"-123", "456", "-9223372036854775808", "9223372036854775807"};

  const Result<Proposal> proposal = Convert(element);

  ASSERT_TRUE(proposal.ok()) << proposal.error().message;
  const std::vector<int64_t> expected = {-123, 456, std::numeric_limits<int64_t>::min(),
                                         std::numeric_limits<int64_t>::max()};
  EXPECT_EQ(proposal->recommendation.affected_queryids, expected);
  const json stored = json::parse(proposal->json);
  ASSERT_TRUE(stored["affected_queryids"].is_array());
  EXPECT_TRUE(stored["affected_queryids"][0].is_number_integer());
  EXPECT_EQ(stored["affected_queryids"].get<std::vector<int64_t>>(), expected);
}

TEST(AgentProposal, DropIndexGetsAGuardWithoutAutomaticRollback) {
  const Result<Proposal> proposal = Convert(DropIndexElement());

  ASSERT_TRUE(proposal.ok()) << proposal.error().message;
  const protocol::Recommendation& r = proposal->recommendation;
  EXPECT_EQ(std::get<protocol::DropIndexSpec>(r.spec).index, "orders_unused_idx");
  EXPECT_TRUE(r.affected_queryids.empty());
  EXPECT_EQ(r.guard.verify_window_s, 900);
  EXPECT_EQ(r.guard.max_regression_pct, 20);
  EXPECT_FALSE(r.guard.auto_rollback);
  EXPECT_EQ(r.table_digest, "00ff");
}

TEST(AgentProposal, TableDigestAndReasonAreCarriedIntoTheStoredBody) {
  const Result<Proposal> proposal = Convert(CreateIndexElement());

  ASSERT_TRUE(proposal.ok()) << proposal.error().message;
  const json stored = json::parse(proposal->json);
  EXPECT_EQ(stored["id"], proposal->recommendation.id);
  EXPECT_EQ(stored["kind"], "create_index");
  EXPECT_EQ(stored["table_digest"], kDigest);
  EXPECT_EQ(stored["reason"], "sequential scans of orders filter on customer_id");
  EXPECT_FALSE(stored.contains("statements"));
  EXPECT_FALSE(stored.contains("approved_by"));
  // The stored body is a proposal as `recommend` stores it: it parses again as one.
  const Result<Proposal> reparsed = ParseProposal(proposal->json, kNow, "unused-id");
  ASSERT_TRUE(reparsed.ok()) << reparsed.error().message;
  EXPECT_EQ(reparsed->recommendation.table_digest, kDigest);
  EXPECT_EQ(reparsed->json, proposal->json);
}

TEST(AgentProposal, EmptyTableDigestAndReasonAreLeftOut) {
  json element = DropIndexElement();
  element["table_digest"] = "";
  element["reason"] = "";

  const Result<Proposal> proposal = Convert(element);

  ASSERT_TRUE(proposal.ok()) << proposal.error().message;
  EXPECT_FALSE(proposal->recommendation.table_digest.has_value());
  EXPECT_FALSE(proposal->recommendation.reason.has_value());
}

TEST(AgentProposal, ProposalAsTheAgentWritesItIsAccepted) {
  protocol::Advice advice;
  protocol::IndexProposal create;
  create.kind = "create_index";
  create.schema = "public";
  create.table = "orders";
  create.columns = {"customer_id", "created_at"};
  create.table_digest = "abc123";
  create.statements = {{-42, 100.5, 2.25}, {std::numeric_limits<int64_t>::min(), 50, 1}};
  create.reason = "helps two statements";
  protocol::IndexProposal drop;
  drop.kind = "drop_index";
  drop.schema = "public";
  drop.table = "orders";
  drop.index = "orders_old_idx";
  drop.table_digest = "abc123";
  advice.proposals = {create, drop};
  const json written = json::parse(protocol::AdviceToJson(kDatabase, advice));

  const Result<Proposal> created = Convert(written["proposals"][0]);
  const Result<Proposal> dropped = Convert(written["proposals"][1]);

  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_TRUE(dropped.ok()) << dropped.error().message;
  EXPECT_EQ(created->recommendation.affected_queryids,
            (std::vector<int64_t>{-42, std::numeric_limits<int64_t>::min()}));
  EXPECT_EQ(created->recommendation.reason, "helps two statements");
  EXPECT_EQ(std::get<protocol::DropIndexSpec>(dropped->recommendation.spec).index,
            "orders_old_idx");
}

TEST(AgentProposal, KindsOtherThanIndexChangesAreRefused) {
  json set_config = CreateIndexElement();
  set_config["kind"] = "set_config";
  set_config["spec"] = {{"name", "work_mem"}, {"value", "64MB"}};
  json rewrite = CreateIndexElement();
  rewrite["kind"] = "rewrite";
  rewrite["spec"] = {{"original", "SELECT 1"}, {"rewritten", "SELECT 2"}};
  json no_kind = CreateIndexElement();
  no_kind.erase("kind");

  for (const json& element : {set_config, rewrite, no_kind}) {
    EXPECT_TRUE(Contains(Refusal(element), "kind: ")) << element.dump();
  }
  EXPECT_EQ(Refusal(set_config),
            "kind: only create_index, drop_index, set_table_options and analyze_table are "
            "proposed by agents");
}

TEST(AgentProposal, TableOptionsAsTheAgentWritesThemGetAGuardWithAutomaticRollback) {
  protocol::Advice advice;
  protocol::IndexProposal options;
  options.kind = "set_table_options";
  options.schema = "public";
  options.table = "orders";
  options.table_options = {{"autovacuum_enabled", "true"},
                           {"autovacuum_vacuum_scale_factor", "0.05"}};
  options.queryids = {-7, 8};
  options.reason = "1000000 dead tuples";
  advice.proposals = {options};
  const json written = json::parse(protocol::AdviceToJson(kDatabase, advice));

  const Result<Proposal> proposal = Convert(written["proposals"][0]);

  ASSERT_TRUE(proposal.ok()) << proposal.error().message;
  const protocol::Recommendation& r = proposal->recommendation;
  const auto& spec = std::get<protocol::SetTableOptionsSpec>(r.spec);
  EXPECT_EQ(spec.schema, "public");
  EXPECT_EQ(spec.table, "orders");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"autovacuum_enabled", "true"}, {"autovacuum_vacuum_scale_factor", "0.05"}};
  EXPECT_EQ(spec.options, expected);
  EXPECT_EQ(r.affected_queryids, (std::vector<int64_t>{-7, 8}));
  EXPECT_EQ(r.guard.verify_window_s, 900);
  EXPECT_EQ(r.guard.max_regression_pct, 20);
  EXPECT_TRUE(r.guard.auto_rollback);
  EXPECT_FALSE(r.table_digest.has_value());
  EXPECT_EQ(r.reason, "1000000 dead tuples");
}

TEST(AgentProposal, AnalyzeTableAsTheAgentWritesItGetsAGuardWithoutAutomaticRollback) {
  protocol::Advice advice;
  protocol::IndexProposal analyze;
  analyze.kind = "analyze_table";
  analyze.schema = "public";
  analyze.table = "orders";
  advice.proposals = {analyze};
  const json written = json::parse(protocol::AdviceToJson(kDatabase, advice));

  const Result<Proposal> proposal = Convert(written["proposals"][0]);

  ASSERT_TRUE(proposal.ok()) << proposal.error().message;
  const protocol::Recommendation& r = proposal->recommendation;
  EXPECT_EQ(std::get<protocol::AnalyzeTableSpec>(r.spec).table, "orders");
  EXPECT_EQ(r.guard.verify_window_s, 900);
  EXPECT_EQ(r.guard.max_regression_pct, 20);
  EXPECT_FALSE(r.guard.auto_rollback);
}

TEST(AgentProposal, TableOptionOutsideTheAllowListIsRefused) {
  json element = {{"kind", "set_table_options"},
                  {"spec",
                   {{"schema", "public"},
                    {"table", "orders"},
                    {"options", {{"fillfactor", "50"}}}}},
                  {"affected_queryids", json::array()}};

  EXPECT_FALSE(Refusal(element).empty());
}

TEST(AgentProposal, OverlongReasonIsRefused) {
  json element = CreateIndexElement();
  element["reason"] = std::string(4001, 'x');
  EXPECT_EQ(Refusal(element), "reason: longer than 4000 bytes");
  element["reason"] = std::string(4000, 'x');
  EXPECT_TRUE(Convert(element).ok());
}

TEST(AgentProposal, BadQueryidIsRefusedNamingItsPosition) {
  for (const json& bad : {json("12a"), json(""), json("99999999999999999999"), json(" 1"),
                          json(456), json(nullptr)}) {
    json element = CreateIndexElement();
    element["affected_queryids"][1] = bad;

    EXPECT_EQ(Refusal(element),
              "affected_queryids[1]: expected a decimal 64-bit integer in a string")
        << bad.dump();
  }
  json missing = CreateIndexElement();
  missing.erase("affected_queryids");
  EXPECT_EQ(Refusal(missing), "affected_queryids: missing");
}

TEST(AgentProposal, SpecOrDigestARecommendationCannotHoldIsRefusedNamingTheField) {
  json no_columns = CreateIndexElement();
  no_columns["spec"].erase("columns");
  json extra_spec_key = DropIndexElement();
  extra_spec_key["spec"]["cascade"] = true;
  json upper_digest = CreateIndexElement();
  upper_digest["table_digest"] = "9F86D081";
  json float_in_spec = CreateIndexElement();
  float_in_spec["spec"]["fillfactor"] = 0.9;
  json spec_array = CreateIndexElement();
  spec_array["spec"] = json::array();
  json reason_number = CreateIndexElement();
  reason_number["reason"] = 5;

  EXPECT_TRUE(Contains(Refusal(no_columns), "spec.columns: missing")) << Refusal(no_columns);
  EXPECT_TRUE(Contains(Refusal(extra_spec_key), "spec.cascade: unknown field"));
  EXPECT_TRUE(Contains(Refusal(upper_digest), "table_digest: must be 1 to 64 lower-case hex"));
  EXPECT_TRUE(Contains(Refusal(float_in_spec), "spec: "));
  EXPECT_EQ(Refusal(spec_array), "spec: expected an object");
  EXPECT_EQ(Refusal(reason_number), "reason: expected a string");
  EXPECT_EQ(Refusal(json::array()), "expected an object");
}

class AgentProposalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "optischema-proposals-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    auto store = Store::Open(dir_ + "/data", Store::OpenMode::kCreate, clock_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  AgentProposalCounts StoreAll(const json& proposals) {
    const SnapshotRecord snapshot{kAgent, "s-1", kDatabase, "2026-01-01T00:00:00Z", 0, ""};
    return StoreAgentProposals(*store_, snapshot, proposals, clock_.Now());
  }

  std::string dir_;
  testing::ManualClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(AgentProposalStoreTest, EachGoodProposalIsStoredOnceAndBadOnesAreCounted) {
  json set_config = CreateIndexElement();
  set_config["kind"] = "set_config";
  const json proposals = {CreateIndexElement(), set_config, DropIndexElement(), "not an object"};

  const AgentProposalCounts first = StoreAll(proposals);
  const AgentProposalCounts again = StoreAll(proposals);

  EXPECT_EQ(first.stored, 2);
  EXPECT_EQ(first.refused, 2);
  EXPECT_EQ(again.stored, 0);
  EXPECT_EQ(again.refused, 2);
  auto rows = store_->ListRecommendations(std::nullopt);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2U);
  for (const RecommendationRow& row : *rows) {
    EXPECT_EQ(row.record.status, kStatusProposed);
    EXPECT_EQ(row.record.agent_id, kAgent);
    EXPECT_EQ(row.record.expires_at, FormatRfc3339(clock_.Now() + kDefaultLifetime));
    EXPECT_EQ(row.record.id, Convert(json::parse(row.record.body_json)["kind"] == "drop_index"
                                         ? DropIndexElement()
                                         : CreateIndexElement())
                                 ->recommendation.id);
  }
}

TEST_F(AgentProposalStoreTest, ProposalStoredBeforeIsLeftAsItIsWhateverItsStatus) {
  ASSERT_EQ(StoreAll(json::array({DropIndexElement()})).stored, 1);
  const std::string id = Convert(DropIndexElement())->recommendation.id;
  ASSERT_TRUE(store_->TransitionRecommendation(id, {kStatusProposed}, "verified", "{}").value());
  clock_.Advance(std::chrono::hours(1));

  const AgentProposalCounts counts = StoreAll(json::array({DropIndexElement()}));

  EXPECT_EQ(counts.stored, 0);
  EXPECT_EQ(counts.refused, 0);
  auto row = store_->GetRecommendation(id);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->record.status, "verified");
  EXPECT_EQ((*row)->record.body_json, "{}");
}

TEST_F(AgentProposalStoreTest, AnythingButAnArrayHoldsNoProposals) {
  const AgentProposalCounts counts = StoreAll(json::object());

  EXPECT_EQ(counts.stored, 0);
  EXPECT_EQ(counts.refused, 0);
}

}  // namespace
}  // namespace optischema::controlplane

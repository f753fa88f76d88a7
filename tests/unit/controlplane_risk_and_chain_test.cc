// The console's risk rule (risk_rule.h) and its check of an agent's mirrored audit chain
// (audit_chain.h).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controlplane/audit_chain.h"
#include "controlplane/risk_rule.h"
#include "protocol/canonical_json.h"
#include "protocol/sha256.h"

namespace optischema::controlplane {
namespace {

nlohmann::json Rec(const std::string& kind, nlohmann::json spec) {
  return {{"kind", kind}, {"spec", std::move(spec)}};
}

TEST(RiskRule, CreateIndexAndRewriteAreLow) {
  EXPECT_EQ(RiskOf(Rec("create_index", {{"schema", "public"}}), nullptr).level, RiskLevel::kLow);
  EXPECT_EQ(RiskOf(Rec("rewrite", nlohmann::json::object()), nullptr).level, RiskLevel::kLow);
}

TEST(RiskRule, DropIndexIsMediumUnlessTheIndexServedScansOrTheTableWritesHeavily) {
  const nlohmann::json drop = Rec("drop_index", {{"schema", "public"}, {"index", "i"}});
  const Risk quiet = RiskOf(drop, {{"scans_window", 0}, {"table_writes_per_s", 3.5}});
  EXPECT_EQ(quiet.level, RiskLevel::kMedium);
  const Risk used = RiskOf(drop, {{"scans_window", 12}, {"table_writes_per_s", 0}});
  EXPECT_EQ(used.level, RiskLevel::kHigh);
  EXPECT_NE(used.rule.find("12 scans"), std::string::npos) << used.rule;
  const Risk busy = RiskOf(drop, {{"scans_window", 0}, {"table_writes_per_s", 250}});
  EXPECT_EQ(busy.level, RiskLevel::kHigh);
  EXPECT_NE(busy.rule.find("writes heavily"), std::string::npos) << busy.rule;
  EXPECT_EQ(RiskOf(drop, {{"scans_window", 0}, {"table_writes_per_s", kHeavyWritesPerSecond}})
                .level,
            RiskLevel::kHigh)
      << "the threshold itself is heavy";
  EXPECT_EQ(RiskOf(drop, nullptr).level, RiskLevel::kHigh) << "no evidence";
}

TEST(RiskRule, SetConfigIsHighOnlyForSettingsThatNeedARestart) {
  EXPECT_EQ(RiskOf(Rec("set_config", {{"name", "work_mem"}, {"value", "64MB"}}), nullptr).level,
            RiskLevel::kMedium);
  const Risk restart =
      RiskOf(Rec("set_config", {{"name", "Shared_Buffers"}, {"value", "1GB"}}), nullptr);
  EXPECT_EQ(restart.level, RiskLevel::kHigh);
  EXPECT_NE(restart.rule.find("restart"), std::string::npos);
}

TEST(RiskRule, UnknownKindsAreHigh) {
  EXPECT_EQ(RiskOf(Rec("vacuum_full", nullptr), nullptr).level, RiskLevel::kHigh);
  EXPECT_EQ(RiskOf(nlohmann::json("not an object"), nullptr).level, RiskLevel::kHigh);
}

// An audit chain as the agent writes it (docs/operations.md).
std::vector<std::string> Chain(int n) {
  std::vector<std::string> records;
  std::string previous(64, '0');
  for (int seq = 1; seq <= n; ++seq) {
    nlohmann::json r = {{"seq", seq},
                        {"ts", "2026-12-06T10:00:00.000Z"},
                        {"step", "applied"},
                        {"detail", "step " + std::to_string(seq)},
                        {"prev_hash", previous}};
    const std::string hash = protocol::Sha256Hex(*protocol::CanonicalJson(r.dump()));
    r["hash"] = hash;
    previous = hash;
    records.push_back(r.dump());
  }
  return records;
}

TEST(AuditChain, VerifiesAnIntactChainSentTwiceInAnyOrder) {
  std::vector<std::string> bodies = Chain(4);
  const std::vector<std::string> again = Chain(4);
  bodies.insert(bodies.begin(), again.rbegin(), again.rend());
  const ChainCheck check = CheckAuditChain(bodies);
  EXPECT_TRUE(check.ok) << check.reason;
  EXPECT_EQ(check.records, 4);
}

TEST(AuditChain, NamesTheFirstRecordWhoseContentChanged) {
  std::vector<std::string> bodies = Chain(5);
  nlohmann::json third = nlohmann::json::parse(bodies[2]);
  third["detail"] = "rewritten";
  bodies[2] = third.dump();
  const ChainCheck check = CheckAuditChain(bodies);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.first_bad_seq, 3);
  EXPECT_NE(check.reason.find("hash"), std::string::npos);
}

TEST(AuditChain, NamesAMissingRecordAndABrokenLink) {
  std::vector<std::string> gap = Chain(5);
  gap.erase(gap.begin() + 1);
  const ChainCheck missing = CheckAuditChain(gap);
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.first_bad_seq, 2);

  // A record rehashed after its content changed still breaks the next link.
  std::vector<std::string> bodies = Chain(3);
  nlohmann::json second = nlohmann::json::parse(bodies[1]);
  second["detail"] = "rewritten";
  second.erase("hash");
  second["hash"] = protocol::Sha256Hex(*protocol::CanonicalJson(second.dump()));
  bodies[1] = second.dump();
  const ChainCheck relinked = CheckAuditChain(bodies);
  EXPECT_FALSE(relinked.ok);
  EXPECT_EQ(relinked.first_bad_seq, 3);
  EXPECT_NE(relinked.reason.find("prev_hash"), std::string::npos);
}

TEST(AuditChain, TwoDifferentRecordsWithOneSeqBreakTheChain) {
  std::vector<std::string> bodies = Chain(2);
  std::vector<std::string> other = Chain(3);
  nlohmann::json forged = nlohmann::json::parse(other[1]);
  forged["detail"] = "forged";
  forged.erase("hash");
  forged["hash"] = protocol::Sha256Hex(*protocol::CanonicalJson(forged.dump()));
  bodies.push_back(forged.dump());
  const ChainCheck check = CheckAuditChain(bodies);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.first_bad_seq, 2);
}

}  // namespace
}  // namespace optischema::controlplane

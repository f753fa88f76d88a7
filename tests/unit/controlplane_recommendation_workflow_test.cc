// Proposals and approvals of recommendation_workflow.h: what a proposal file may hold, what is
// stored, and that an approval is signed over exactly what the agent receives.

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "controlplane/recommendation_workflow.h"
#include "core/time_format.h"
#include "protocol/ed25519.h"
#include "protocol/recommendation.h"

namespace optischema::controlplane {
namespace {

using std::chrono::hours;
using std::chrono::system_clock;

constexpr char kAgent[] = "0b8a3c1e-1111-4222-8333-444455556666";
constexpr char kGeneratedId[] = "11111111-2222-4333-8444-555555555555";
const system_clock::time_point kNow{std::chrono::seconds(1'790'000'000)};

nlohmann::json ProposalJson() {
  return {
      {"agent_id", kAgent},
      {"database", "orders"},
      {"kind", "set_config"},
      {"spec", {{"name", "work_mem"}, {"value", "64MB"}}},
      {"affected_queryids", {-9223372036854775807LL - 1, 9223372036854775807LL}},
      {"guard", {{"verify_window_s", 300}, {"max_regression_pct", 10}, {"auto_rollback", false}}}};
}

Result<Proposal> Parse(const nlohmann::json& proposal) {
  return ParseProposal(proposal.dump(), kNow, kGeneratedId);
}

TEST(ControlPlaneRecommendationWorkflow, ProposalWithoutIdOrExpiryGetsTheGeneratedIdAndAWeek) {
  const Result<Proposal> proposal = Parse(ProposalJson());

  ASSERT_TRUE(proposal.ok()) << proposal.error().message;
  EXPECT_EQ(proposal->recommendation.id, kGeneratedId);
  EXPECT_EQ(proposal->expires_at, FormatRfc3339(kNow + hours(24 * 7)));
  const nlohmann::json stored = nlohmann::json::parse(proposal->json);
  EXPECT_EQ(stored["id"], kGeneratedId);
  EXPECT_EQ(stored["expires_at"], proposal->expires_at);
  EXPECT_FALSE(stored.contains("approved_by"));
  EXPECT_FALSE(stored.contains("approved_at"));
  EXPECT_FALSE(stored.contains("signature"));
}

TEST(ControlPlaneRecommendationWorkflow, ProposalKeepsItsOwnIdAndNormalizesItsExpiryToUtc) {
  nlohmann::json json = ProposalJson();
  json["id"] = "rec-42";
  json["expires_at"] = "2027-01-01T02:00:00+02:00";

  const Result<Proposal> proposal = Parse(json);

  ASSERT_TRUE(proposal.ok()) << proposal.error().message;
  EXPECT_EQ(proposal->recommendation.id, "rec-42");
  EXPECT_EQ(proposal->expires_at, "2027-01-01T00:00:00.000Z");
  EXPECT_EQ(nlohmann::json::parse(proposal->json)["expires_at"], "2027-01-01T02:00:00+02:00");
}

TEST(ControlPlaneRecommendationWorkflow, ProposalErrorsNameTheField) {
  nlohmann::json no_value = ProposalJson();
  no_value["spec"].erase("value");
  nlohmann::json signed_already = ProposalJson();
  signed_already["signature"] = "AAAA";
  nlohmann::json unknown = ProposalJson();
  unknown["guard"]["extra"] = 1;
  nlohmann::json past = ProposalJson();
  past["expires_at"] = FormatRfc3339(kNow - hours(1));
  nlohmann::json not_uuid = ProposalJson();
  not_uuid["agent_id"] = "db-host-1";

  const Result<Proposal> results[] = {Parse(no_value), Parse(signed_already), Parse(unknown),
                                      Parse(past), Parse(not_uuid)};
  const char* const fields[] = {"spec.value: missing", "signature: set by `approve`",
                                "guard.extra: unknown field", "expires_at: already passed",
                                "agent_id: expected the agent's id"};

  for (std::size_t i = 0; i < std::size(results); ++i) {
    ASSERT_FALSE(results[i].ok()) << fields[i];
    EXPECT_EQ(results[i].error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(results[i].error().message.find(fields[i]), std::string::npos)
        << results[i].error().message;
  }
}

TEST(ControlPlaneRecommendationWorkflow, ProposalWithAFractionOrDuplicateKeyIsRefused) {
  const Result<Proposal> fraction =
      ParseProposal(R"({"guard":{"max_regression_pct":2.5}})", kNow, kGeneratedId);
  const Result<Proposal> duplicate =
      ParseProposal(R"({"database":"a","database":"b"})", kNow, kGeneratedId);

  ASSERT_FALSE(fraction.ok());
  EXPECT_NE(fraction.error().message.find("$.guard.max_regression_pct"), std::string::npos)
      << fraction.error().message;
  ASSERT_FALSE(duplicate.ok());
  EXPECT_NE(duplicate.error().message.find("database"), std::string::npos)
      << duplicate.error().message;
}

TEST(ControlPlaneRecommendationWorkflow, ApprovalIsSignedOverTheTextTheAgentReceives) {
  const Result<protocol::Ed25519KeyPair> keys = protocol::GenerateEd25519KeyPair();
  ASSERT_TRUE(keys.ok());
  const Result<Proposal> proposal = Parse(ProposalJson());
  ASSERT_TRUE(proposal.ok()) << proposal.error().message;

  const Result<std::string> approved =
      SignApproval(proposal->json, "dba@example.com", FormatRfc3339(kNow), keys->private_key_b64);

  ASSERT_TRUE(approved.ok()) << approved.error().message;
  EXPECT_TRUE(protocol::VerifyRecommendationSignature(*approved, keys->public_key_b64).ok());
  const Result<protocol::Recommendation> parsed = protocol::ParseRecommendation(*approved);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->approved_by, "dba@example.com");
  EXPECT_EQ(parsed->approved_at, FormatRfc3339(kNow));
  EXPECT_EQ(parsed->affected_queryids, proposal->recommendation.affected_queryids);
  EXPECT_EQ(std::get<protocol::SetConfigSpec>(parsed->spec).value, "64MB");
}

TEST(ControlPlaneRecommendationWorkflow, ApprovalByNobodyIsRefused) {
  const Result<protocol::Ed25519KeyPair> keys = protocol::GenerateEd25519KeyPair();
  ASSERT_TRUE(keys.ok());
  const Result<Proposal> proposal = Parse(ProposalJson());
  ASSERT_TRUE(proposal.ok());

  const Result<std::string> approved =
      SignApproval(proposal->json, "", FormatRfc3339(kNow), keys->private_key_b64);

  ASSERT_FALSE(approved.ok());
  EXPECT_NE(approved.error().message.find("approved_by"), std::string::npos);
}

TEST(ControlPlaneRecommendationWorkflow, Rfc3339OffsetsAndFractionsGiveTheSameInstant) {
  const auto utc = ParseRfc3339("2026-01-31T12:00:00Z");
  const auto offset = ParseRfc3339("2026-01-31t13:30:00.000+01:30");
  const auto fraction = ParseRfc3339("2026-01-31T12:00:00.250000001z");

  ASSERT_TRUE(utc && offset && fraction);
  EXPECT_EQ(*utc, *offset);
  EXPECT_EQ(*fraction - *utc, std::chrono::milliseconds(250));
  EXPECT_EQ(FormatRfc3339(*utc), "2026-01-31T12:00:00.000Z");
  EXPECT_FALSE(ParseRfc3339("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-01-31 12:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-01-31T12:00:00"));
}

}  // namespace
}  // namespace optischema::controlplane

#include "applier/recommendation_check.h"

#include <gtest/gtest.h>

#include "core/time_format.h"
#include "protocol/ed25519.h"

namespace optischema::applier {
namespace {

constexpr char kAgent[] = "0b5d7c1e-9a7f-4c1e-8a55-2f0d9e3c4b6a";

class RecommendationCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = protocol::GenerateEd25519KeyPair().value();
    context_.agent_id = kAgent;
    context_.public_key_b64 = keys_.public_key_b64;
    context_.now = ParseRfc3339("2026-11-22T12:00:00Z").value();
    context_.databases = {{"shop", true}, {"billing", false}};
    context_.already_applied = [this](const std::string& id) { return applied_ == id; };
  }

  static std::string Json(const std::string& table = "orders", const std::string& where = "",
                          const std::string& agent = kAgent,
                          const std::string& expires = "2026-11-29T12:00:00Z",
                          const std::string& database = "shop") {
    return R"({"id":"rec-1","agent_id":")" + agent + R"(","database":")" + database +
           R"(","kind":"create_index","spec":{"schema":"public","table":")" + table +
           R"(","columns":["customer_id"])" +
           (where.empty() ? "" : R"(,"where":")" + where + R"(")") +
           R"(},"affected_queryids":[42],"guard":{"verify_window_s":60,"max_regression_pct":10,"auto_rollback":true},"approved_by":"dba","approved_at":"2026-11-22T11:00:00Z","expires_at":")" +
           expires + R"("})";
  }

  protocol::RecommendationEnvelope Signed(const std::string& json) const {
    const std::string signed_json =
        protocol::SignRecommendationJson(json, keys_.private_key_b64).value();
    auto list = protocol::ParseRecommendationList(R"({"protocol":"1","recommendations":[)" +
                                                  signed_json + "]}");
    return std::move(list.value().at(0));
  }

  protocol::Ed25519KeyPair keys_;
  CheckContext context_;
  std::string applied_;
};

TEST_F(RecommendationCheckTest, SignedValidRecommendationPasses) {
  auto checked = CheckRecommendation(Signed(Json("orders", "status = 'open'")), context_);
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  EXPECT_EQ(checked->where->sql, "(\"status\" OPERATOR(pg_catalog.=) 'open')");
}

TEST_F(RecommendationCheckTest, OneChangedByteAfterSigningIsRefused) {
  protocol::RecommendationEnvelope envelope = Signed(Json());
  const auto at = envelope.raw_json.find("customer_id");
  envelope.raw_json[at] = 'k';
  envelope.recommendation = protocol::ParseRecommendation(envelope.raw_json);
  auto checked = CheckRecommendation(envelope, context_);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, ErrorCode::kPermissionDenied) << checked.error().message;
}

TEST_F(RecommendationCheckTest, EachRefusalSaysWhy) {
  struct Case {
    std::string json;
    std::string reason;
  };
  applied_ = "rec-1";
  context_.already_applied = [](const std::string&) { return false; };
  const Case cases[] = {
      {Json("orders", "", "11111111-2222-4333-8444-555555555555"), "another agent"},
      {Json("orders", "", kAgent, "2026-11-22T11:59:59Z"), "expired"},
      {Json("orders", "", kAgent, "2026-11-29T12:00:00Z", "billing"), "apply = false"},
      {Json("orders", "", kAgent, "2026-11-29T12:00:00Z", "nowhere"), "not configured"},
      {Json("orders", "lower(x) = 'a'"), "function calls"},
  };
  for (const Case& c : cases) {
    auto checked = CheckRecommendation(Signed(c.json), context_);
    ASSERT_FALSE(checked.ok()) << c.reason;
    EXPECT_NE(checked.error().message.find(c.reason), std::string::npos) << checked.error().message;
  }
}

TEST_F(RecommendationCheckTest, ReplayOfAnAppliedRecommendationIsRefused) {
  applied_ = "rec-1";
  auto checked = CheckRecommendation(Signed(Json()), context_);
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().message.find("replay"), std::string::npos);
}

TEST_F(RecommendationCheckTest, NoPublicKeyMeansApplyingIsOff) {
  context_.public_key_b64.clear();
  auto checked = CheckRecommendation(Signed(Json()), context_);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, ErrorCode::kConfig);
  EXPECT_NE(checked.error().message.find("applying is off"), std::string::npos);
}

TEST_F(RecommendationCheckTest, HostileTableNameIsStillOnlyAnIdentifier) {
  // A table named x"; DROP TABLE t; -- is a valid (odd) identifier: it passes the checks and the
  // applier quotes it, so it can only ever name a table (the precondition then finds none).
  auto checked = CheckRecommendation(Signed(Json(R"(x\"; DROP TABLE t; --)")), context_);
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  const auto& spec = std::get<protocol::CreateIndexSpec>(checked->recommendation.spec);
  EXPECT_EQ(spec.table, "x\"; DROP TABLE t; --");
}

TEST_F(RecommendationCheckTest, OnlyAllowListedSettingsAreChanged) {
  const auto set_config = [](const std::string& name) {
    return R"({"id":"rec-1","agent_id":")" + std::string(kAgent) +
           R"(","database":"shop","kind":"set_config","spec":{"name":")" + name +
           R"(","value":"x"},"affected_queryids":[],"guard":{"verify_window_s":60,"max_regression_pct":10,"auto_rollback":false},"approved_by":"dba","approved_at":"2026-11-22T11:00:00Z","expires_at":"2026-11-29T12:00:00Z"})";
  };
  for (const char* name :
       {"archive_command", "Shared_Preload_Libraries", "ssl_passphrase_command", "log_directory",
        "fsync", "session_replication_role", "oauth_validator_libraries", "extension_control_path",
        "synchronous_commit", "no_such_setting", "custom.setting"}) {
    auto checked = CheckRecommendation(Signed(set_config(name)), context_);
    ASSERT_FALSE(checked.ok()) << name;
    EXPECT_EQ(checked.error().code, ErrorCode::kPermissionDenied);
    EXPECT_EQ(checked.error().message,
              "setting " + std::string(name) +
                  " is not on the agent's allow-list of settings safe to tune for performance "
                  "(docs/security.md); change it by hand if that is intended");
  }
  for (const char* name : {"work_mem", "Random_Page_Cost", "max_wal_size", "enable_seqscan"}) {
    EXPECT_TRUE(CheckRecommendation(Signed(set_config(name)), context_).ok()) << name;
  }
}

TEST_F(RecommendationCheckTest, OversizedElementIsRefusedUnread) {
  std::string big = Json();
  big.insert(big.size() - 1, R"(,"reason":")" + std::string(kMaxRecommendationBytes, 'x') + "\"");
  const Status authentic = CheckAuthenticity(Signed(big), keys_.public_key_b64);
  ASSERT_FALSE(authentic.ok());
  EXPECT_EQ(authentic.error().message, "recommendation is larger than 64 KiB; refused unread");
}

TEST(Rfc3339, ParsesUtcOffsetsAndFractionsAndRefusesBadDates) {
  EXPECT_EQ(ParseRfc3339("2026-11-22T12:00:00+01:00"), ParseRfc3339("2026-11-22T11:00:00Z"));
  EXPECT_TRUE(ParseRfc3339("2026-11-22T12:00:00.123456789Z").has_value());
  for (const char* bad : {"2026-02-30T00:00:00Z", "2026-11-22 12:00:00Z", "2026-11-22T12:00:00",
                          "2026-11-22T24:00:00Z", ""}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

// A recommendation of `kind` with the spec text `spec`, for this agent and database "shop".
std::string TableKind(const std::string& kind, const std::string& spec) {
  return R"({"id":"rec-t","agent_id":")" + std::string(kAgent) + R"(","database":"shop","kind":")" +
         kind + R"(","spec":)" + spec +
         R"(,"affected_queryids":[],"guard":{"verify_window_s":60,"max_regression_pct":10,"auto_rollback":false},"approved_by":"dba","approved_at":"2026-11-22T11:00:00Z","expires_at":"2026-11-29T12:00:00Z"})";
}

TEST_F(RecommendationCheckTest, SignedTableOptionsAndAnalyzePass) {
  auto options = CheckRecommendation(
      Signed(TableKind(
          "set_table_options",
          R"({"schema":"public","table":"orders","options":{"autovacuum_vacuum_scale_factor":"0.02","toast.autovacuum_enabled":"false"}})")),
      context_);
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(std::get<protocol::SetTableOptionsSpec>(options->recommendation.spec).options.size(),
            2u);
  auto analyze = CheckRecommendation(
      Signed(TableKind("analyze_table", R"({"schema":"public","table":"orders"})")), context_);
  ASSERT_TRUE(analyze.ok()) << analyze.error().message;
  EXPECT_TRUE(std::holds_alternative<protocol::AnalyzeTableSpec>(analyze->recommendation.spec));
}

TEST_F(RecommendationCheckTest, TableOptionOutsideTheAllowListNeverPassesEvenIfSigned) {
  // The control plane would refuse to sign it; a signature made anyway does not help: the strict
  // parse refuses it before the signature is even looked at.
  for (const std::string& options :
       {std::string(R"({"fillfactor":"50"})"),
        std::string(R"({"autovacuum_enabled = true); DROP TABLE x; --":"true"})"),
        std::string(R"({"autovacuum_vacuum_cost_limit":"0"})"),
        std::string(R"({"autovacuum_enabled":"on"})")}) {
    const std::string text = TableKind(
        "set_table_options", R"({"schema":"public","table":"orders","options":)" + options + "}");
    EXPECT_FALSE(protocol::SignRecommendationJson(text, keys_.private_key_b64).ok()) << options;
    // Signed as raw bytes (signing bytes + signature), as a rogue signer would.
    const std::string bytes = protocol::RecommendationSigningBytes(text).value();
    const std::string signature = protocol::Ed25519Sign(keys_.private_key_b64, bytes).value();
    std::string raw = bytes;
    raw.pop_back();
    raw += R"(,"signature":")" + signature + R"("})";
    auto list =
        protocol::ParseRecommendationList(R"({"protocol":"1","recommendations":[)" + raw + "]}");
    ASSERT_TRUE(list.ok());
    auto checked = CheckRecommendation(list->at(0), context_);
    ASSERT_FALSE(checked.ok()) << options;
    EXPECT_EQ(checked.error().code, ErrorCode::kParseFailed) << checked.error().message;
    EXPECT_NE(checked.error().message.find("spec.options"), std::string::npos)
        << checked.error().message;
  }
}

}  // namespace
}  // namespace optischema::applier

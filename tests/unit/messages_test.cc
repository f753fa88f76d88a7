#include "protocol/messages.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace optischema::protocol {
namespace {

TEST(ProtocolVersion, SameMajorIsAcceptedWhateverTheMinor) {
  EXPECT_TRUE(CheckProtocolVersion("1").ok());
  EXPECT_TRUE(CheckProtocolVersion("1.0").ok());
  EXPECT_TRUE(CheckProtocolVersion("1.7").ok());
}

TEST(ProtocolVersion, UnknownMajorIsRefusedNamingBothVersions) {
  for (const char* v : {"2.0", "0.9", "x", "", "10.0"}) {
    Status st = CheckProtocolVersion(v);
    ASSERT_FALSE(st.ok()) << v;
    EXPECT_EQ(st.error().code, ErrorCode::kUnsupportedVersion);
    EXPECT_NE(st.error().message.find("this agent speaks 1.0"), std::string::npos);
  }
}

TEST(RegisterResponse, IntervalsAreReadAndAbsentOnesStayUnset) {
  auto r = ParseRegisterResponse(R"({"protocol":"1.0","snapshot_interval_s":60})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->snapshot_interval.has_value());
  EXPECT_EQ(r->snapshot_interval->count(), 60);
  EXPECT_FALSE(r->heartbeat_interval.has_value());
}

TEST(RegisterResponse, BadRepliesAreRefusedWithAReasonNotTheBody) {
  struct Case {
    const char* body;
    ErrorCode code;
  };
  for (const Case& c :
       {Case{"<html>oops</html>", ErrorCode::kParseFailed}, Case{"[]", ErrorCode::kParseFailed},
        Case{R"({"snapshot_interval_s":60})", ErrorCode::kParseFailed},
        Case{R"({"protocol":"2.0"})", ErrorCode::kUnsupportedVersion},
        Case{R"({"protocol":"1.0","snapshot_interval_s":0})", ErrorCode::kParseFailed},
        Case{R"({"protocol":"1.0","heartbeat_interval_s":"soon"})", ErrorCode::kParseFailed}}) {
    auto r = ParseRegisterResponse(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body;
    EXPECT_EQ(r.error().message.find("oops"), std::string::npos);
  }
}

TEST(RegisterRequest, CarriesIdentityAndDatabases) {
  RegisterRequest req{
      "id-1", "db-host", "0.1.0", {{"orders", 150004, {"pg_stat_statements 1.10"}}}};
  auto j = nlohmann::json::parse(RegisterRequestToJson(req));
  EXPECT_EQ(j["protocol"], "1.0");
  EXPECT_EQ(j["agent_id"], "id-1");
  EXPECT_EQ(j["databases"][0]["name"], "orders");
  EXPECT_EQ(j["databases"][0]["server_version_num"], 150004);
  EXPECT_EQ(j["databases"][0]["extensions"][0], "pg_stat_statements 1.10");
}

TEST(Heartbeat, ReportsSpoolDepthDropsAndErrors) {
  Heartbeat h;
  h.status = "degraded";
  h.spool_depth = 3;
  h.spool_dropped = 2;
  h.snapshots_lost = 4;
  h.recent_errors = {"database \"orders\": connection refused"};
  auto j = nlohmann::json::parse(HeartbeatToJson(h));
  EXPECT_EQ(j["status"], "degraded");
  EXPECT_EQ(j["spool_depth"], 3);
  EXPECT_EQ(j["spool_dropped"], 2);
  EXPECT_EQ(j["snapshots_lost"], 4);
  EXPECT_TRUE(j["last_collect_at"].is_null());
  EXPECT_EQ(j["recent_errors"][0], "database \"orders\": connection refused");
}

TEST(RegisterResponse, DeeplyNestedReplyIsRefusedBeforeParsing) {
  const std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto response = ParseRegisterResponse(deep);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.error().message.find("nested deeper than 64 levels"), std::string::npos)
      << response.error().message;
}

}  // namespace
}  // namespace optischema::protocol

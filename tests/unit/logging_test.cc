#include "core/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/redaction.h"

namespace optischema::agent {
namespace {

class LoggingTest : public ::testing::Test {
 protected:
  void Install(LogFormat format, std::vector<std::string> secrets = {}) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    ASSERT_TRUE(SetupLogging(format, "info", std::move(secrets), sink).ok());
  }
  void TearDown() override { ASSERT_TRUE(SetupLogging(LogFormat::kText, "info").ok()); }

  std::ostringstream out_;
};

TEST_F(LoggingTest, JsonLinesCarryFieldsAsTopLevelKeys) {
  Install(LogFormat::kJson);
  LogEvent(spdlog::level::info, "snapshot spooled",
           {{"database", "orders"}, {"snapshot_id", "abc-123"}});
  const auto line = nlohmann::json::parse(out_.str());
  EXPECT_EQ(line["msg"], "snapshot spooled");
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["database"], "orders");
  EXPECT_EQ(line["snapshot_id"], "abc-123");
  EXPECT_TRUE(line.contains("ts"));
}

TEST_F(LoggingTest, TextLinesAppendFieldsAsKeyValueQuotingSpaces) {
  Install(LogFormat::kText);
  LogEvent(spdlog::level::warn, "reading failed", {{"database", "orders"}, {"error", "no route"}});
  const std::string line = out_.str();
  EXPECT_NE(line.find(" warning reading failed database=orders error=\"no route\"\n"),
            std::string::npos)
      << line;
}

TEST_F(LoggingTest, ValueCannotForgeAFieldOrALine) {
  Install(LogFormat::kJson);
  LogEvent(spdlog::level::info, "m",
           {{"error",
             "a\x1f"
             "database\x1e"
             "evil\nsecond line"}});
  const std::string text = out_.str();
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  const auto line = nlohmann::json::parse(text);
  EXPECT_FALSE(line.contains("database"));
}

TEST_F(LoggingTest, SecretsAreMaskedInMessagesFieldsAndPlainSpdlogCalls) {
  Install(LogFormat::kJson, {"osk_supersecretkey"});
  LogEvent(spdlog::level::err, "key osk_supersecretkey refused",
           {{"error", "Bearer osk_supersecretkey"}});
  spdlog::error("dsn host=db password=hunter2 user=x");
  const std::string text = out_.str();
  EXPECT_EQ(text.find("osk_supersecretkey"), std::string::npos) << text;
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_NE(text.find(kRedacted), std::string::npos);
}

TEST(Redaction, PasswordKeywordQuotedOrNotIsMasked) {
  std::string text = "host=db PASSWORD = 'it\\'s secret' user=a password=plain dbname=x";
  Redact(text, {});
  EXPECT_EQ(text.find("secret"), std::string::npos) << text;
  EXPECT_EQ(text.find("plain"), std::string::npos) << text;
  EXPECT_NE(text.find("user=a"), std::string::npos) << text;
  EXPECT_NE(text.find("dbname=x"), std::string::npos) << text;
}

TEST(Redaction, UriPasswordIsMaskedButUserAndHostStay) {
  std::string text = "connect to postgresql://agent:s3cr3t@db:5432/orders failed";
  Redact(text, {});
  EXPECT_EQ(text, "connect to postgresql://agent:[redacted]@db:5432/orders failed");
}

TEST(Redaction, UriWithoutPasswordIsUnchanged) {
  std::string text = "https://control.example.com:443/v1 and postgresql://agent@db/x";
  const std::string before = text;
  Redact(text, {});
  EXPECT_EQ(text, before);
}

TEST(Redaction, ShortSecretsAreIgnoredSoWordsSurvive) {
  std::string text = "the abc of it";
  Redact(text, {"abc"});
  EXPECT_EQ(text, "the abc of it");
}

}  // namespace
}  // namespace optischema::agent

namespace optischema::agent {
namespace {

TEST(Redaction, SecretContainingAnotherIsMaskedWhole) {
  auto sink_out = std::make_shared<std::ostringstream>();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*sink_out);
  ASSERT_TRUE(SetupLogging(LogFormat::kText, "info", {"postgres", "postgres123"}, sink).ok());
  LogEvent(spdlog::level::info, "password postgres123 rejected");
  EXPECT_EQ(sink_out->str().find("123"), std::string::npos) << sink_out->str();
  ASSERT_TRUE(SetupLogging(LogFormat::kText, "info").ok());
}

}  // namespace
}  // namespace optischema::agent

#include "agent/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace optischema::agent {
namespace {

using std::chrono::milliseconds;

// Whether `text` contains `part`; error messages are checked with it for leaked secrets.
bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// An environment backed by a map, so that tests never read or change the process environment.
EnvLookup MapEnv(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
    const auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

// An environment with no variables set.
EnvLookup NoEnv() { return MapEnv({}); }

constexpr char kOneDatabase[] = R"([[database]]
name = "orders"
)";

// Gives every test its own temporary directory, removed afterwards.
class LoadConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "config_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `content` to `name` in the test directory and returns its path.
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << content;
    return path;
  }

  // Loads `content` as agent.toml and returns the error message, or "" when loading succeeds.
  std::string ErrorFor(const std::string& content, const EnvLookup& env = NoEnv()) {
    const Result<Config> config = LoadConfig(Write("agent.toml", content), env);
    if (config.ok()) return "";
    EXPECT_EQ(config.error().code, ErrorCode::kConfig);
    return config.error().message;
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST_F(LoadConfigTest, LoadsEveryKeyOfAFullFile) {
  const std::string password_file = Write("orders.pw", "secret\n");
  const std::string path = Write("agent.toml", R"(# full example
[agent]
state_dir = "/srv/agent"
interval = "15s"
log_format = "json"
log_level = "debug"

[control_plane]
url = "https://control.example.com/api"
api_key = "key-123"
ca_file = "/etc/ssl/ca.pem"
recommendation_public_key = "U6JsLHbO4z4rMuTWhKUBnsXDQ5rCSmCZdfAuWN1Zj+E="

[collector]
max_statements_per_snapshot = 2000
send_query_text = "none"
text_refresh_interval = "10m"

[[database]]
name = "orders"
dsn = "postgresql://optischema@db:5432/orders"
password_file = ")" + password_file + R"("
apply = true
maintenance_window = "Sun 02:00-04:00 UTC"

[[database]]
name = "billing.v2"
dsn = ""
)");
  const Result<Config> config = LoadConfig(path, NoEnv());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->state_dir, "/srv/agent");
  EXPECT_EQ(config->interval, std::chrono::seconds(15));
  EXPECT_EQ(config->log_format, LogFormat::kJson);
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->control_plane_url, "https://control.example.com/api");
  EXPECT_EQ(config->api_key, "key-123");
  EXPECT_EQ(config->api_key_file, "");
  EXPECT_EQ(config->ca_file, "/etc/ssl/ca.pem");
  EXPECT_EQ(config->recommendation_public_key, "U6JsLHbO4z4rMuTWhKUBnsXDQ5rCSmCZdfAuWN1Zj+E=");
  EXPECT_EQ(config->max_statements_per_snapshot, 2000);
  EXPECT_EQ(config->send_query_text, SendQueryText::kNone);
  EXPECT_EQ(config->text_refresh_interval, std::chrono::minutes(10));
  ASSERT_EQ(config->databases.size(), 2u);
  EXPECT_EQ(config->databases[0].name, "orders");
  EXPECT_EQ(config->databases[0].dsn, "postgresql://optischema@db:5432/orders");
  EXPECT_EQ(config->databases[0].password_file, password_file);
  EXPECT_TRUE(config->databases[0].apply);
  EXPECT_EQ(config->databases[0].maintenance_window, "Sun 02:00-04:00 UTC");
  EXPECT_EQ(config->databases[1].name, "billing.v2");
  EXPECT_EQ(config->databases[1].dsn, "");
  EXPECT_EQ(config->databases[1].password_file, "");
  EXPECT_FALSE(config->databases[1].apply);
}

TEST_F(LoadConfigTest, OmittedSettingsKeepTheirDefaults) {
  const Result<Config> config = LoadConfig(Write("agent.toml", kOneDatabase), NoEnv());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->state_dir, "/var/lib/optischema-agent");
  EXPECT_EQ(config->interval, std::chrono::seconds(30));
  EXPECT_EQ(config->log_format, LogFormat::kText);
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->control_plane_url, "");
  EXPECT_EQ(config->api_key, "");
  EXPECT_EQ(config->max_statements_per_snapshot, 5000);
  EXPECT_EQ(config->send_query_text, SendQueryText::kNormalized);
  EXPECT_EQ(config->text_refresh_interval, std::chrono::minutes(5));
  ASSERT_EQ(config->databases.size(), 1u);
  EXPECT_EQ(config->databases[0].dsn, "");
  EXPECT_FALSE(config->databases[0].apply);
}

TEST_F(LoadConfigTest, EnvironmentOnlyModeNeedsNoFile) {
  const Result<Config> config =
      LoadConfig("", MapEnv({{"OPTISCHEMA_DATABASE_URL", "postgresql://u@h/db"},
                             {"OPTISCHEMA_INTERVAL", "1m"},
                             {"OPTISCHEMA_CONTROL_PLANE_URL", "https://cp.example.com"}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->interval, std::chrono::minutes(1));
  EXPECT_EQ(config->control_plane_url, "https://cp.example.com");
  ASSERT_EQ(config->databases.size(), 1u);
  EXPECT_EQ(config->databases[0].name, "default");
  EXPECT_EQ(config->databases[0].dsn, "postgresql://u@h/db");
}

TEST_F(LoadConfigTest, ReadsTheFileNamedByOptischemaConfigWhenNoPathIsGiven) {
  const std::string path = Write("agent.toml", kOneDatabase);
  const Result<Config> config = LoadConfig("", MapEnv({{"OPTISCHEMA_CONFIG", path}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->databases.size(), 1u);
  EXPECT_EQ(config->databases[0].name, "orders");
}

TEST_F(LoadConfigTest, ExplicitPathWinsOverOptischemaConfig) {
  const std::string path = Write("agent.toml", kOneDatabase);
  const Result<Config> config =
      LoadConfig(path, MapEnv({{"OPTISCHEMA_CONFIG", Path("missing.toml")}}));
  EXPECT_TRUE(config.ok()) << config.error().message;
}

TEST_F(LoadConfigTest, EnvironmentOverridesFileValues) {
  const std::string key_file = Write("api-key", "env-key\n");
  const std::string path = Write("agent.toml", R"([agent]
state_dir = "/file"
interval = "10s"
log_format = "text"
log_level = "info"
[control_plane]
url = "https://file.example.com"
api_key = "file-key"
ca_file = "/file/ca.pem"
[collector]
max_statements_per_snapshot = 100
send_query_text = "normalized"
[[database]]
name = "orders"
)");
  const Result<Config> config =
      LoadConfig(path, MapEnv({{"OPTISCHEMA_STATE_DIR", "/env"},
                               {"OPTISCHEMA_INTERVAL", "500ms"},
                               {"OPTISCHEMA_LOG_FORMAT", "json"},
                               {"OPTISCHEMA_LOG_LEVEL", "warn"},
                               {"OPTISCHEMA_CONTROL_PLANE_URL", "http://127.0.0.1:8080"},
                               {"OPTISCHEMA_API_KEY_FILE", key_file},
                               {"OPTISCHEMA_CA_FILE", "/env/ca.pem"},
                               {"OPTISCHEMA_MAX_STATEMENTS", "20000"},
                               {"OPTISCHEMA_SEND_QUERY_TEXT", "none"}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->state_dir, "/env");
  EXPECT_EQ(config->interval, milliseconds(500));
  EXPECT_EQ(config->log_format, LogFormat::kJson);
  EXPECT_EQ(config->log_level, "warn");
  EXPECT_EQ(config->control_plane_url, "http://127.0.0.1:8080");
  EXPECT_EQ(config->api_key_file, key_file);
  EXPECT_EQ(config->api_key, "env-key");
  EXPECT_EQ(config->ca_file, "/env/ca.pem");
  EXPECT_EQ(config->max_statements_per_snapshot, 20000);
  EXPECT_EQ(config->send_query_text, SendQueryText::kNone);
}

TEST_F(LoadConfigTest, EmptyEnvironmentValueCountsAsUnset) {
  const std::string path = Write("agent.toml", std::string(R"([agent]
interval = "10s"
)") + kOneDatabase);
  const Result<Config> config = LoadConfig(path, MapEnv({{"OPTISCHEMA_INTERVAL", ""},
                                                         {"OPTISCHEMA_DATABASE_URL", ""},
                                                         {"OPTISCHEMA_MAX_STATEMENTS", ""}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->interval, std::chrono::seconds(10));
  ASSERT_EQ(config->databases.size(), 1u);
  EXPECT_EQ(config->databases[0].name, "orders");
}

TEST_F(LoadConfigTest, DatabaseUrlReplacesTheDsnOfTheDefaultDatabaseKeepingItsOtherSettings) {
  const std::string password_file = Write("pw", "pw\n");
  const Result<Config> config =
      LoadConfig(Write("agent.toml", R"([[database]]
name = "default"
dsn = "host=file"
apply = true
)"),
                 MapEnv({{"OPTISCHEMA_DATABASE_URL", "host=env"},
                         {"OPTISCHEMA_DATABASE_PASSWORD_FILE", password_file}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->databases.size(), 1u);
  EXPECT_EQ(config->databases[0].dsn, "host=env");
  EXPECT_EQ(config->databases[0].password_file, password_file);
  EXPECT_TRUE(config->databases[0].apply);
}

TEST_F(LoadConfigTest, DatabaseUrlAddsADefaultDatabaseAfterTheFileDatabases) {
  const Result<Config> config = LoadConfig(Write("agent.toml", kOneDatabase),
                                           MapEnv({{"OPTISCHEMA_DATABASE_URL", "host=env"}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->databases.size(), 2u);
  EXPECT_EQ(config->databases[0].name, "orders");
  EXPECT_EQ(config->databases[1].name, "default");
  EXPECT_EQ(config->databases[1].dsn, "host=env");
}

TEST_F(LoadConfigTest, RejectsDatabasePasswordFileWithoutADefaultDatabase) {
  EXPECT_EQ(ErrorFor(kOneDatabase, MapEnv({{"OPTISCHEMA_DATABASE_PASSWORD_FILE", "/pw"}})),
            "environment OPTISCHEMA_DATABASE_PASSWORD_FILE: applies to the database named "
            "\"default\", which is not configured; set OPTISCHEMA_DATABASE_URL as well");
}

TEST_F(LoadConfigTest, ReadsApiKeyFileTrimmingSurroundingWhitespace) {
  const std::string key_file = Write("api-key", "  \n\tkey-from-file \r\n\n");
  const Result<Config> config = LoadConfig(Write("agent.toml", R"([control_plane]
api_key_file = ")" + key_file + R"("
)" + kOneDatabase),
                                           NoEnv());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->api_key, "key-from-file");
  EXPECT_EQ(config->api_key_file, key_file);
}

TEST_F(LoadConfigTest, RejectsApiKeyTogetherWithApiKeyFileNamingBothLines) {
  const std::string message = ErrorFor(R"([control_plane]
api_key = "s3cret-value"
api_key_file = "/etc/optischema/api-key"
)");
  EXPECT_EQ(message, Path("agent.toml") +
                         ":3: control_plane.api_key_file: cannot be combined with "
                         "control_plane.api_key (line 2); set only one");
  EXPECT_FALSE(Contains(message, "s3cret-value")) << message;
}

TEST_F(LoadConfigTest, RejectsApiKeyTogetherWithApiKeyFileInTheEnvironment) {
  EXPECT_EQ(ErrorFor(kOneDatabase,
                     MapEnv({{"OPTISCHEMA_API_KEY", "k"}, {"OPTISCHEMA_API_KEY_FILE", "/k"}})),
            "environment OPTISCHEMA_API_KEY_FILE: cannot be combined with OPTISCHEMA_API_KEY; "
            "set only one");
}

TEST_F(LoadConfigTest, EnvironmentApiKeyReplacesTheFileApiKeyFileWithoutReadingIt) {
  const Result<Config> config = LoadConfig(Write("agent.toml", R"([control_plane]
api_key_file = "/nonexistent/api-key"
)" + std::string(kOneDatabase)),
                                           MapEnv({{"OPTISCHEMA_API_KEY", "env-key"}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->api_key, "env-key");
  EXPECT_EQ(config->api_key_file, "");
}

TEST_F(LoadConfigTest, RejectsUnreadableApiKeyFileNamingLineKeyAndReason) {
  EXPECT_EQ(ErrorFor(std::string(R"([control_plane]
api_key_file = "/nonexistent/api-key"
)") + kOneDatabase),
            Path("agent.toml") +
                ":2: control_plane.api_key_file: cannot read \"/nonexistent/api-key\": No such "
                "file or directory");
}

TEST_F(LoadConfigTest, RejectsEmptyApiKeyFile) {
  const std::string key_file = Write("api-key", " \n");
  EXPECT_EQ(ErrorFor(kOneDatabase, MapEnv({{"OPTISCHEMA_API_KEY_FILE", key_file}})),
            "environment OPTISCHEMA_API_KEY_FILE: file \"" + key_file + "\" is empty");
}

TEST_F(LoadConfigTest, RejectsMultiLineApiKeyFileWithoutEchoingTheKey) {
  const std::string key_file = Write("api-key", "first-half\nsecond-half\n");
  const std::string message =
      ErrorFor(kOneDatabase, MapEnv({{"OPTISCHEMA_API_KEY_FILE", key_file}}));
  EXPECT_EQ(message,
            "environment OPTISCHEMA_API_KEY_FILE: the API key contains a line break or other "
            "control character (key not shown)");
}

TEST_F(LoadConfigTest, RejectsMissingDatabaseNamingTheFileAndTheVariable) {
  EXPECT_EQ(ErrorFor("[agent]\n"), "no database configured: add a [[database]] entry to " +
                                       Path("agent.toml") + " or set OPTISCHEMA_DATABASE_URL");
}

TEST_F(LoadConfigTest, RejectsMissingDatabaseInEnvironmentOnlyMode) {
  const Result<Config> config = LoadConfig("", NoEnv());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kConfig);
  EXPECT_EQ(config.error().message,
            "no database configured: add a [[database]] entry to a configuration file (--config "
            "or OPTISCHEMA_CONFIG) or set OPTISCHEMA_DATABASE_URL");
}

TEST_F(LoadConfigTest, RejectsUnreadableFileWithTheSystemReason) {
  const Result<Config> missing = LoadConfig(Path("missing.toml"), NoEnv());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kConfig);
  EXPECT_EQ(missing.error().message,
            Path("missing.toml") + ": cannot read configuration: No such file or directory");

  const Result<Config> directory = LoadConfig(dir_.string(), NoEnv());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().message,
            dir_.string() + ": cannot read configuration: Is a directory");
}

TEST_F(LoadConfigTest, ReportsTomlSyntaxErrorWithLineAndColumn) {
  const std::string message = ErrorFor("[agent]\ninterval = \"30s\ncollector\n");
  EXPECT_TRUE(message.starts_with(Path("agent.toml") + ":2:")) << message;
  EXPECT_TRUE(Contains(message, ": TOML syntax error: ")) << message;
}

TEST_F(LoadConfigTest, TomlSyntaxErrorDoesNotEchoAnUnquotedApiKey) {
  const std::string message = ErrorFor("[control_plane]\napi_key = s3cretvalue\n");
  EXPECT_TRUE(message.starts_with(Path("agent.toml") + ":2:11: TOML syntax error: ")) << message;
  EXPECT_FALSE(Contains(message, "s3cretvalue")) << message;
}

TEST_F(LoadConfigTest, AdvisorSettingsAreReadAndDefaultWhenOmitted) {
  const Result<Config> defaults = LoadConfig(Write("agent.toml", kOneDatabase), NoEnv());
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_TRUE(defaults->advisor.enabled);
  EXPECT_EQ(defaults->advisor.interval, std::chrono::minutes(15));
  EXPECT_EQ(defaults->advisor.unused_min_size, 10u << 20);
  EXPECT_EQ(defaults->advisor.unused_min_stats_age, std::chrono::hours(24 * 7));
  EXPECT_EQ(defaults->advisor.min_saving_pct, 50);

  const Result<Config> config = LoadConfig(
      Write("agent.toml", std::string(kOneDatabase) +
                              "[advisor]\ninterval = \"2m\"\nunused_min_size = \"1MiB\"\n"
                              "unused_min_stats_age = \"3d\"\nmin_saving_pct = 40\n"
                              "min_saving_pct_two_column = 60\nmax_statements = 5\n"
                              "min_plan_cost = 10\npropose_drops = false\n"),
      MapEnv({{"OPTISCHEMA_ADVISOR_INTERVAL", "90s"}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->advisor.interval, std::chrono::seconds(90));
  EXPECT_EQ(config->advisor.unused_min_size, 1u << 20);
  EXPECT_EQ(config->advisor.unused_min_stats_age, std::chrono::hours(72));
  EXPECT_EQ(config->advisor.min_saving_pct, 40);
  EXPECT_EQ(config->advisor.min_saving_pct_two_column, 60);
  EXPECT_EQ(config->advisor.max_statements, 5);
  EXPECT_EQ(config->advisor.min_plan_cost, 10);
  EXPECT_FALSE(config->advisor.propose_drops);
}

TEST_F(LoadConfigTest, LogOutputComesFromTheFileOrTheEnvironment) {
  const Result<Config> file = LoadConfig(
      Write("agent.toml", "[agent]\nlog_output = \"stdout\"\n" + std::string(kOneDatabase)),
      NoEnv());
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->log_output, LogOutput::kStdout);
  const Result<Config> env =
      LoadConfig("", MapEnv({{"OPTISCHEMA_DATABASE_URL", "postgresql://u@h/db"},
                             {"OPTISCHEMA_LOG_OUTPUT", "stdio"}}));
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().message,
            "environment OPTISCHEMA_LOG_OUTPUT: expected \"stderr\" or \"stdout\", got \"stdio\"");
}

TEST_F(LoadConfigTest, AdvisorPercentOutOfRangeNamesTheKey) {
  EXPECT_EQ(
      ErrorFor("[advisor]\nmin_saving_pct = 0\n"),
      Path("agent.toml") + ":2: advisor.min_saving_pct: expected an integer from 1 to 100, got 0");
}

TEST_F(LoadConfigTest, RejectsUnknownKeyListingTheKnownKeys) {
  EXPECT_EQ(ErrorFor("[agent]\nintervall = \"30s\"\n"),
            Path("agent.toml") +
                ":2: agent.intervall: unknown key; known keys: state_dir, interval, "
                "heartbeat_interval, spool_max_bytes, log_format, log_level, log_output");
}

TEST_F(LoadConfigTest, RejectsUnknownTableListingTheKnownTables) {
  EXPECT_EQ(
      ErrorFor(std::string(kOneDatabase) + "[colector]\nsend_query_text = \"none\"\n"),
      Path("agent.toml") +
          ":3: colector: unknown table; known tables: agent, control_plane, collector, advisor, "
          "database");
}

TEST_F(LoadConfigTest, RejectsTopLevelKeyOutsideAnyTable) {
  EXPECT_EQ(
      ErrorFor("interval = \"30s\"\n"),
      Path("agent.toml") +
          ":1: interval: unknown key; known tables: agent, control_plane, collector, advisor, "
          "database");
}

TEST_F(LoadConfigTest, RejectsUnknownKeyInASecondDatabaseEntry) {
  EXPECT_EQ(ErrorFor(std::string(kOneDatabase) + "[[database]]\nname = \"b\"\nreadonly = true\n"),
            Path("agent.toml") +
                ":5: database[1].readonly: unknown key; known keys: name, dsn, password_file, "
                "apply, maintenance_window, apply_statement_timeout, min_index_saving_pct");
}

TEST_F(LoadConfigTest, RejectsWrongTypesNamingTheExpectedType) {
  EXPECT_EQ(ErrorFor("[collector]\nmax_statements_per_snapshot = \"5000\"\n"),
            Path("agent.toml") +
                ":2: collector.max_statements_per_snapshot: expected an integer from 10 to "
                "1000000, got a string");
  EXPECT_EQ(ErrorFor("[agent]\ninterval = 30\n"),
            Path("agent.toml") +
                ":2: agent.interval: expected a duration like \"30s\" or \"5m\", got an integer");
  EXPECT_EQ(ErrorFor("[[database]]\nname = \"a\"\napply = \"yes\"\n"),
            Path("agent.toml") + ":3: database[0].apply: expected true or false, got a string");
  EXPECT_EQ(ErrorFor("agent = \"x\"\n"),
            Path("agent.toml") + ":1: agent: expected a table ([agent]), got a string");
  EXPECT_EQ(ErrorFor("database = \"orders\"\n"),
            Path("agent.toml") + ":1: database: expected [[database]] tables, got a string");
  EXPECT_EQ(ErrorFor("database = [1]\n"),
            Path("agent.toml") + ":1: database[0]: expected a table, got an integer");
}

TEST_F(LoadConfigTest, RejectsMalformedIntervalNamingFileLineAndKey) {
  EXPECT_EQ(ErrorFor(R"(# Agent configuration.

[agent]
state_dir = "/var/lib/optischema-agent"

# How often to collect.
interval = "thirty"
)"),
            Path("agent.toml") +
                R"(:7: agent.interval: expected a duration like "30s" or "5m", got "thirty")");
}

TEST_F(LoadConfigTest, RejectsNegativeIntervalNamingFileLineAndKey) {
  EXPECT_EQ(ErrorFor("[collector]\ntext_refresh_interval = \"-5m\"\n"),
            Path("agent.toml") +
                R"(:2: collector.text_refresh_interval: expected a duration like "30s" or "5m", )"
                R"(got "-5m")");
}

TEST_F(LoadConfigTest, EnforcesMaxStatementsBoundsInFileAndEnvironment) {
  for (const int accepted : {10, 1000000}) {
    const Result<Config> config =
        LoadConfig(Write("agent.toml", "[collector]\nmax_statements_per_snapshot = " +
                                           std::to_string(accepted) + "\n" + kOneDatabase),
                   NoEnv());
    ASSERT_TRUE(config.ok()) << config.error().message;
    EXPECT_EQ(config->max_statements_per_snapshot, accepted);
  }
  EXPECT_EQ(ErrorFor("[collector]\nmax_statements_per_snapshot = 9\n"),
            Path("agent.toml") +
                ":2: collector.max_statements_per_snapshot: expected an integer from 10 to "
                "1000000, got 9");
  EXPECT_EQ(ErrorFor("[collector]\nmax_statements_per_snapshot = 1000001\n"),
            Path("agent.toml") +
                ":2: collector.max_statements_per_snapshot: expected an integer from 10 to "
                "1000000, got 1000001");
  for (const std::string rejected : {"9", "1000001", "12abc", "-50", " 100"}) {
    EXPECT_EQ(ErrorFor(kOneDatabase, MapEnv({{"OPTISCHEMA_MAX_STATEMENTS", rejected}})),
              "environment OPTISCHEMA_MAX_STATEMENTS: expected an integer from 10 to 1000000, "
              "got \"" +
                  rejected + "\"");
  }
}

TEST_F(LoadConfigTest, RejectsUnknownEnumerationValues) {
  EXPECT_EQ(ErrorFor("[agent]\nlog_format = \"xml\"\n"),
            Path("agent.toml") + R"(:2: agent.log_format: expected "text" or "json", got "xml")");
  EXPECT_EQ(ErrorFor("[agent]\nlog_level = \"verbose\"\n"),
            Path("agent.toml") +
                ":2: agent.log_level: expected one of trace, debug, info, warn, error, critical, "
                "off, got \"verbose\"");
  EXPECT_EQ(ErrorFor("[collector]\nsend_query_text = \"raw\"\n"),
            Path("agent.toml") +
                R"(:2: collector.send_query_text: expected "normalized" or "none", got "raw")");
}

TEST_F(LoadConfigTest, RejectsInvalidEnvironmentValueNamingTheVariable) {
  EXPECT_EQ(ErrorFor(kOneDatabase, MapEnv({{"OPTISCHEMA_INTERVAL", "x"}})),
            R"(environment OPTISCHEMA_INTERVAL: expected a duration like "30s" or "5m", got "x")");
  EXPECT_EQ(ErrorFor(kOneDatabase, MapEnv({{"OPTISCHEMA_LOG_FORMAT", "yaml"}})),
            R"(environment OPTISCHEMA_LOG_FORMAT: expected "text" or "json", got "yaml")");
}

TEST_F(LoadConfigTest, EscapesControlCharactersOfQuotedValues) {
  EXPECT_EQ(ErrorFor(kOneDatabase, MapEnv({{"OPTISCHEMA_LOG_LEVEL", "in\"fo\n"}})),
            "environment OPTISCHEMA_LOG_LEVEL: expected one of trace, debug, info, warn, error, "
            "critical, off, got \"in\\\"fo\\x0a\"");
}

TEST_F(LoadConfigTest, RequiresHttpsControlPlaneUrlExceptForLoopback) {
  for (const std::string accepted :
       {"https://cp.example.com", "https://cp.example.com:8443/v1", "http://127.0.0.1",
        "http://localhost:8080/api", "http://[::1]:9000", "http://user@localhost"}) {
    const Result<Config> config =
        LoadConfig("", MapEnv({{"OPTISCHEMA_DATABASE_URL", "host=db"},
                               {"OPTISCHEMA_CONTROL_PLANE_URL", accepted}}));
    ASSERT_TRUE(config.ok()) << accepted << ": " << config.error().message;
    EXPECT_EQ(config->control_plane_url, accepted);
  }
  for (const std::string rejected :
       {"http://cp.example.com", "ftp://cp.example.com", "cp.example.com", "https://",
        "https:///path", "http://localhost.evil.com", "http://127.0.0.1.evil.com",
        "http://evil.com@", "HTTPS://cp.example.com"}) {
    EXPECT_EQ(ErrorFor(kOneDatabase, MapEnv({{"OPTISCHEMA_CONTROL_PLANE_URL", rejected}})),
              "environment OPTISCHEMA_CONTROL_PLANE_URL: expected an https:// URL (http:// only "
              "for 127.0.0.1, localhost or [::1]), got \"" +
                  rejected + "\"")
        << rejected;
  }
  EXPECT_EQ(ErrorFor("[control_plane]\nurl = \"http://control.example.com\"\n"),
            Path("agent.toml") +
                ":2: control_plane.url: expected an https:// URL (http:// only for 127.0.0.1, "
                "localhost or [::1]), got \"http://control.example.com\"");
}

TEST_F(LoadConfigTest, RejectsDatabaseWithoutNameAtItsHeaderLine) {
  EXPECT_EQ(ErrorFor(std::string(kOneDatabase) + "\n[[database]]\ndsn = \"host=x\"\n"),
            Path("agent.toml") +
                ":4: database[1].name: missing; every [[database]] entry needs a unique name");
}

TEST_F(LoadConfigTest, RejectsInvalidDatabaseNames) {
  const std::string expected_prefix =
      Path("agent.toml") +
      ":2: database[0].name: expected a name of 1 to 63 characters from A-Z a-z 0-9 _ . -, got ";
  EXPECT_EQ(ErrorFor("[[database]]\nname = \"\"\n"), expected_prefix + "\"\"");
  EXPECT_EQ(ErrorFor("[[database]]\nname = \"my db\"\n"), expected_prefix + "\"my db\"");
  const std::string too_long(64, 'a');
  EXPECT_EQ(ErrorFor("[[database]]\nname = \"" + too_long + "\"\n"),
            expected_prefix + "\"" + too_long + "\"");
  EXPECT_EQ(ErrorFor("[[database]]\nname = \"" + too_long.substr(1) + "\"\n"), "");
}

TEST_F(LoadConfigTest, RejectsDuplicateDatabaseNamesNamingBothLines) {
  EXPECT_EQ(ErrorFor(R"([[database]]
name = "orders"

[[database]]
name = "billing"

[[database]]
dsn = "host=other"
name = "orders"
)"),
            Path("agent.toml") +
                R"(:9: database[2].name: duplicate database name "orders", first used at line 2)");
}

TEST_F(LoadConfigTest, RejectsMissingPasswordFileFromFileOrEnvironment) {
  EXPECT_EQ(ErrorFor(R"([[database]]
name = "orders"
password_file = "/nonexistent/pw"
)"),
            Path("agent.toml") +
                ":3: database[0].password_file: cannot read \"/nonexistent/pw\": No such file or "
                "directory");
  EXPECT_EQ(ErrorFor("", MapEnv({{"OPTISCHEMA_DATABASE_URL", "host=db"},
                                 {"OPTISCHEMA_DATABASE_PASSWORD_FILE", "/nonexistent/pw"}})),
            "environment OPTISCHEMA_DATABASE_PASSWORD_FILE: cannot read \"/nonexistent/pw\": No "
            "such file or directory");
}

TEST_F(LoadConfigTest, DsnErrorsDoNotEchoTheDsn) {
  const std::string message = ErrorFor(R"([[database]]
name = "orders"
dsn = ["postgresql://u:hunter2@db/orders"]
)");
  EXPECT_EQ(message, Path("agent.toml") + ":3: database[0].dsn: expected a string, got an array");
  EXPECT_FALSE(Contains(message, "hunter2")) << message;
}

TEST_F(LoadConfigTest, LaterErrorsDoNotEchoApiKeyOrDsnPassword) {
  const std::string message =
      ErrorFor(R"([control_plane]
api_key = "s3cret-value"
[[database]]
name = "orders"
dsn = "postgresql://u:hunter2@db/orders"
apply = 1
)",
               MapEnv({{"OPTISCHEMA_DATABASE_URL", "postgresql://u:hunter3@db/x"}}));
  EXPECT_EQ(message,
            Path("agent.toml") + ":6: database[0].apply: expected true or false, got an integer");
  EXPECT_FALSE(Contains(message, "s3cret-value")) << message;
  EXPECT_FALSE(Contains(message, "hunter")) << message;
}

TEST(ParseDuration, AcceptsAPositiveIntegerAndAUnit) {
  const std::vector<std::pair<std::string, milliseconds>> cases = {
      {"1ms", milliseconds(1)},
      {"500ms", milliseconds(500)},
      {"30s", std::chrono::seconds(30)},
      {"5m", std::chrono::minutes(5)},
      {"1h", std::chrono::hours(1)},
      {"48h", std::chrono::hours(48)},
      {"007s", std::chrono::seconds(7)},
      {"9223372036854775807ms", milliseconds(9223372036854775807)},
      {"2562047788015h", std::chrono::hours(2562047788015)},
      {"7d", std::chrono::hours(7 * 24)},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(ParseDuration(text), std::optional(expected)) << text;
  }
}

TEST(ParseDuration, RejectsMalformedZeroNegativeAndOverflowingDurations) {
  for (const std::string_view text : {"",
                                      "s",
                                      "30",
                                      "0s",
                                      "0ms",
                                      "-5s",
                                      "+5s",
                                      " 5s",
                                      "5s ",
                                      "5 s",
                                      "5sec",
                                      "5S",
                                      "1.5s",
                                      "1h30m",
                                      "5D",
                                      "106751991168d",
                                      "9223372036854775808ms",
                                      "9223372036854775807s",
                                      "2562047788016h",
                                      "99999999999999999999s"}) {
    EXPECT_EQ(ParseDuration(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(ProcessEnv, ReadsTheProcessEnvironment) {
  ASSERT_EQ(setenv("OPTISCHEMA_CONFIG_TEST_VARIABLE", "value", 1), 0);
  const EnvLookup env = ProcessEnv();
  EXPECT_EQ(env("OPTISCHEMA_CONFIG_TEST_VARIABLE"), std::optional<std::string>("value"));
  ASSERT_EQ(unsetenv("OPTISCHEMA_CONFIG_TEST_VARIABLE"), 0);
  EXPECT_EQ(env("OPTISCHEMA_CONFIG_TEST_VARIABLE"), std::nullopt);
}

}  // namespace
}  // namespace optischema::agent

namespace optischema::agent {
namespace {

TEST_F(LoadConfigTest, DaemonSettingsAreReadFromFileAndEnvironment) {
  const Result<Config> config = LoadConfig(Write("agent.toml", R"([agent]
heartbeat_interval = "15s"
spool_max_bytes = "64MiB"
[control_plane]
proxy = "http://proxy.internal:3128"
recommendations_interval = "2m"
[[database]]
name = "orders"
)"),
                                           MapEnv({{"OPTISCHEMA_HEARTBEAT_INTERVAL", "20s"}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->heartbeat_interval, std::chrono::seconds(20));
  EXPECT_EQ(config->spool_max_bytes, std::uint64_t{64} << 20);
  EXPECT_EQ(config->proxy, "http://proxy.internal:3128");
  EXPECT_EQ(config->recommendations_interval, std::chrono::minutes(2));
}

TEST_F(LoadConfigTest, ControlPlaneTimeoutIsReadAndBoundedFrom1sTo2m) {
  const Result<Config> defaults =
      LoadConfig(Write("a.toml", "[[database]]\nname = \"orders\"\n"), MapEnv({}));
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->control_plane_timeout, std::chrono::seconds(60));
  const Result<Config> config = LoadConfig(
      Write("b.toml", "[control_plane]\ntimeout = \"5s\"\n[[database]]\nname = \"orders\"\n"),
      MapEnv({}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->control_plane_timeout, std::chrono::seconds(5));
  const Result<Config> from_env = LoadConfig(Write("c.toml", "[[database]]\nname = \"orders\"\n"),
                                             MapEnv({{"OPTISCHEMA_CONTROL_PLANE_TIMEOUT", "2m"}}));
  ASSERT_TRUE(from_env.ok()) << from_env.error().message;
  EXPECT_EQ(from_env->control_plane_timeout, std::chrono::minutes(2));
  for (const char* bad : {"500ms", "3m", "soon"}) {
    const Result<Config> refused =
        LoadConfig(Write("d.toml", std::string("[control_plane]\ntimeout = \"") + bad +
                                       "\"\n[[database]]\nname = \"orders\"\n"),
                   MapEnv({}));
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.error().message.find("control_plane.timeout"), std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("from \"1s\" to \"2m\""), std::string::npos)
        << refused.error().message;
  }
}

TEST_F(LoadConfigTest, ActivitySamplingIsOnEverySecondOffWithZeroAndBoundedOtherwise) {
  const Result<Config> defaults = LoadConfig(Write("a.toml", kOneDatabase), MapEnv({}));
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->activity_sample_interval, std::chrono::seconds(1));
  EXPECT_EQ(defaults->idle_in_transaction_warn, std::chrono::seconds(60));
  const Result<Config> off =
      LoadConfig(Write("b.toml", std::string("[collector]\nactivity_sample_interval = \"0\"\n"
                                             "idle_in_transaction_warn = \"5m\"\n") +
                                     kOneDatabase),
                 MapEnv({}));
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_EQ(off->activity_sample_interval.count(), 0);
  EXPECT_EQ(off->idle_in_transaction_warn, std::chrono::minutes(5));
  const Result<Config> from_env = LoadConfig(
      Write("c.toml", kOneDatabase), MapEnv({{"OPTISCHEMA_ACTIVITY_SAMPLE_INTERVAL", "250ms"}}));
  ASSERT_TRUE(from_env.ok()) << from_env.error().message;
  EXPECT_EQ(from_env->activity_sample_interval, std::chrono::milliseconds(250));
  for (const char* bad : {"50ms", "2m", "often", "-1s"}) {
    EXPECT_EQ(ErrorFor(std::string("[collector]\nactivity_sample_interval = \"") + bad + "\"\n"),
              Path("agent.toml") +
                  R"(:2: collector.activity_sample_interval: expected "0" (off) or a duration )"
                  R"(from "100ms" to "1m", got ")" +
                  bad + "\"")
        << bad;
  }
  for (const char* bad : {"500ms", "2d"}) {
    EXPECT_NE(ErrorFor(std::string("[collector]\nidle_in_transaction_warn = \"") + bad + "\"\n")
                  .find(":2: collector.idle_in_transaction_warn: expected a duration from "),
              std::string::npos)
        << bad;
  }
}

TEST_F(LoadConfigTest, BadProxyIsRefusedWithoutEchoingItsPassword) {
  const std::string message = ErrorFor(std::string(R"([control_plane]
proxy = "ftp://user:pr0xyPass@proxy"
)") + kOneDatabase);
  EXPECT_TRUE(
      Contains(message, Path("agent.toml") + ":2: control_plane.proxy: expected a proxy URL"))
      << message;
  EXPECT_FALSE(Contains(message, "pr0xyPass")) << message;
}

TEST(ParseByteSize, AcceptsUnitsAndRejectsTinyHugeOrMalformedSizes) {
  EXPECT_EQ(ParseByteSize("256MiB"), std::uint64_t{256} << 20);
  EXPECT_EQ(ParseByteSize("1GiB"), std::uint64_t{1} << 30);
  EXPECT_EQ(ParseByteSize("64KiB"), std::uint64_t{64} << 10);
  EXPECT_EQ(ParseByteSize("1048576"), std::uint64_t{1} << 20);
  for (const std::string_view text :
       {"", "0MiB", "1KiB", "63KiB", "2048GiB", "1 MiB", "1MB", "-1MiB", "1.5GiB", "MiB"}) {
    EXPECT_EQ(ParseByteSize(text), std::nullopt) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace optischema::agent

namespace optischema::agent {
namespace {

TEST_F(LoadConfigTest, UnparsableDsnIsRefusedWithoutEchoingIt) {
  const std::string message = ErrorFor(R"([[database]]
name = "orders"
dsn = "postgresql://u:p%zzhunter2@db/orders"
)");
  EXPECT_TRUE(Contains(message, Path("agent.toml") + ":3: database[0].dsn: not a libpq"))
      << message;
  EXPECT_FALSE(Contains(message, "hunter2")) << message;
  const std::string from_env =
      ErrorFor("", MapEnv({{"OPTISCHEMA_DATABASE_URL", "host=db password=my secret"}}));
  EXPECT_TRUE(Contains(from_env, "environment OPTISCHEMA_DATABASE_URL: not a libpq")) << from_env;
  EXPECT_FALSE(Contains(from_env, "secret")) << from_env;
}

}  // namespace
}  // namespace optischema::agent

namespace optischema::agent {
namespace {

TEST_F(LoadConfigTest, MalformedMaintenanceWindowIsRefusedWithFileLineAndReason) {
  const std::string message = ErrorFor(R"([[database]]
name = "orders"
maintenance_window = "Sat 25:00-05:00 UTC"
)");
  EXPECT_TRUE(Contains(message, Path("agent.toml") +
                                    ":3: database[0].maintenance_window: hour out of range in "
                                    "\"25:00\""))
      << message;
  EXPECT_TRUE(Contains(message, "expected a form like \"Sat 01:00-05:00 UTC\"")) << message;
}

TEST_F(LoadConfigTest, MaintenanceWindowErrorNamesTheDatabaseEntryThatHasIt) {
  const std::string message = ErrorFor(R"([[database]]
name = "orders"
maintenance_window = "Sat 01:00-05:00 UTC"

[[database]]
name = "billing"
maintenance_window = "Sat 01:00-05:00 Europe/Berlin"
)");
  EXPECT_TRUE(Contains(message, Path("agent.toml") +
                                    ":7: database[1].maintenance_window: unsupported time zone "
                                    "\"Europe/Berlin\""))
      << message;
}

TEST_F(LoadConfigTest, ValidOrEmptyMaintenanceWindowIsKeptAsWritten) {
  const Result<Config> config = LoadConfig(Write("agent.toml", R"([[database]]
name = "orders"
maintenance_window = "mon-fri 22:00-02:00 +02:00; Sat 01:00-05:00 UTC"

[[database]]
name = "billing"
maintenance_window = ""
)"),
                                           NoEnv());
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->databases.size(), 2u);
  EXPECT_EQ(config->databases[0].maintenance_window,
            "mon-fri 22:00-02:00 +02:00; Sat 01:00-05:00 UTC");
  EXPECT_EQ(config->databases[1].maintenance_window, "");
}

}  // namespace
}  // namespace optischema::agent

namespace optischema::agent {
namespace {

TEST_F(LoadConfigTest, ApplySettingsOfADatabaseAreReadAndChecked) {
  const Result<Config> config = LoadConfig(Write("agent.toml", R"([[database]]
name = "orders"
apply = true
apply_statement_timeout = "2h"
min_index_saving_pct = 25
)"),
                                           NoEnv());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->databases[0].apply_statement_timeout, std::chrono::hours(2));
  EXPECT_EQ(config->databases[0].min_index_saving_pct, 25);
  EXPECT_EQ(ErrorFor(std::string(kOneDatabase) + "min_index_saving_pct = 150\n"),
            Path("agent.toml") +
                ":3: database[0].min_index_saving_pct: expected an integer from 0 to 100, got 150");
}

}  // namespace
}  // namespace optischema::agent

// The bad-input catalogue: one table per family of input the agent takes from outside (its
// configuration file, OPTISCHEMA_* environment values, signed recommendations, the control
// plane's replies), each row a bad input and the exact message a person reads about it. Beyond the
// message, every row checks that nothing else happened: a configuration that does not load starts
// nothing and writes nothing; a refused recommendation changes nothing in PostgreSQL (catalog,
// settings, and no DDL in pg_stat_statements) and leaves an audit record and a `rejected` event;
// a bad reply is logged, retried, and the spooled snapshot it concerned is still delivered once
// the control plane answers properly.

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <stdlib.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agent/apply_worker.h"
#include "agent/config.h"
#include "agent/state_dir.h"
#include "applier/audit_log.h"
#include "core/clock.h"
#include "core/logging.h"
#include "delivery/control_plane_link.h"
#include "delivery/http_client.h"
#include "pg/pg_session.h"
#include "pg/table_schema.h"
#include "protocol/ed25519.h"
#include "protocol/recommendation.h"
#include "tests/support/agent_command.h"
#include "tests/support/controlplane_process.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/tls_test_server.h"
#include "tests/support/wait_for.h"

namespace optischema::agent {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using optischema::testing::PgCluster;
using optischema::testing::RecordedRequest;
using optischema::testing::TestResponse;
using optischema::testing::TlsTestServer;
using optischema::testing::WaitFor;

constexpr char kAgentId[] = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f";

// A directory of its own under TMPDIR, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "catalogue-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Replaces every "{key}" of `text` with its value.
std::string Expand(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    const std::string placeholder = "{" + key + "}";
    for (std::size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

// `text` as one single-quoted shell word.
std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Captures the agent's log lines (JSON, one object per line) for assertions.
class CaptureSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<json> Lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line(formatted.data(), formatted.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    lines_.push_back(json::parse(line, nullptr, /*allow_exceptions=*/false));
  }
  void flush_() override {}

 private:
  std::vector<json> lines_;
};

// Installs a fresh capturing logger; call while no agent thread runs.
std::shared_ptr<CaptureSink> CaptureLogs() {
  auto sink = std::make_shared<CaptureSink>();
  EXPECT_TRUE(SetupLogging(LogFormat::kJson, "debug", {}, sink).ok());
  return sink;
}

// The first captured line whose "msg" is `message` (as JSON), or null.
json FindLog(CaptureSink& sink, const std::string& message) {
  for (const json& line : sink.Lines()) {
    if (line.is_object() && line.value("msg", "") == message) return line;
  }
  return json();
}

// Test names from the table's `name` column.
struct CaseName {
  template <class Case>
  std::string operator()(const ::testing::TestParamInfo<Case>& param_info) const {
    return param_info.param.name;
  }
};

// ==============================================================================================
// Family 1: configuration files

struct ConfigFileCase {
  const char* name;
  std::string toml;      // "{dir}" is the case's directory
  std::string expected;  // the whole message; "{file}" is the configuration file, "{dir}" as above
};

void PrintTo(const ConfigFileCase& c, std::ostream* os) { *os << c.name; }

const std::string kDatabase = "\n[[database]]\nname = \"shop\"\ndsn = \"dbname=shop\"\n";

const ConfigFileCase kConfigFileCases[] = {
    {"TomlSyntaxErrorNamesLineAndColumn", "[agent\ninterval = \"30s\"\n" + kDatabase,
     "{file}:1:7: TOML syntax error: Error while parsing table header: expected ']', saw '\\n'"},
    {"UnknownKeyListsTheKnownOnes", "[agent]\nintervall = \"30s\"\n" + kDatabase,
     "{file}:2: agent.intervall: unknown key; known keys: state_dir, interval, "
     "heartbeat_interval, spool_max_bytes, log_format, log_level, log_output"},
    {"UnknownTableListsTheKnownOnes", "[agnt]\ninterval = \"30s\"\n" + kDatabase,
     "{file}:1: agnt: unknown table; known tables: agent, control_plane, collector, advisor, "
     "database"},
    {"DurationOfWrongType", "[agent]\ninterval = 30\n" + kDatabase,
     "{file}:2: agent.interval: expected a duration like \"30s\" or \"5m\", got an integer"},
    {"ZeroInterval", "[agent]\ninterval = \"0s\"\n" + kDatabase,
     "{file}:2: agent.interval: expected a duration like \"30s\" or \"5m\", got \"0s\""},
    {"NegativeInterval", "[agent]\nheartbeat_interval = \"-5s\"\n" + kDatabase,
     "{file}:2: agent.heartbeat_interval: expected a duration like \"30s\" or \"5m\", got "
     "\"-5s\""},
    {"DurationInParsecs", "[collector]\ntext_refresh_interval = \"30 parsecs\"\n" + kDatabase,
     "{file}:2: collector.text_refresh_interval: expected a duration like \"30s\" or \"5m\", "
     "got \"30 parsecs\""},
    {"CombinedDuration", "[advisor]\ninterval = \"1h30m\"\n" + kDatabase,
     "{file}:2: advisor.interval: expected a duration like \"30s\" or \"5m\", got \"1h30m\""},
    {"ByteSizeWithDecimalUnit", "[agent]\nspool_max_bytes = \"10MB\"\n" + kDatabase,
     "{file}:2: agent.spool_max_bytes: expected a size from 64KiB to 1024GiB like \"256MiB\", "
     "got \"10MB\""},
    {"ByteSizeBelowTheMinimum", "[advisor]\nunused_min_size = \"1KiB\"\n" + kDatabase,
     "{file}:2: advisor.unused_min_size: expected a size from 64KiB to 1024GiB like \"256MiB\", "
     "got \"1KiB\""},
    {"StatementsOutOfRange", "[collector]\nmax_statements_per_snapshot = 5\n" + kDatabase,
     "{file}:2: collector.max_statements_per_snapshot: expected an integer from 10 to 1000000, "
     "got 5"},
    {"StatementsAsString", "[collector]\nmax_statements_per_snapshot = \"5000\"\n" + kDatabase,
     "{file}:2: collector.max_statements_per_snapshot: expected an integer from 10 to 1000000, "
     "got a string"},
    {"UnknownLogLevel", "[agent]\nlog_level = \"verbose\"\n" + kDatabase,
     "{file}:2: agent.log_level: expected one of trace, debug, info, warn, error, critical, off, "
     "got \"verbose\""},
    {"PlainHttpToARemoteHost",
     "[control_plane]\nurl = \"http://control.example.com\"\n" + kDatabase,
     "{file}:2: control_plane.url: expected an https:// URL (http:// only for 127.0.0.1, "
     "localhost or [::1]), got \"http://control.example.com\""},
    {"ApiKeyAndApiKeyFileTogether",
     "[control_plane]\napi_key = \"k\"\napi_key_file = \"{dir}/key\"\n" + kDatabase,
     "{file}:3: control_plane.api_key_file: cannot be combined with control_plane.api_key "
     "(line 2); set only one"},
    {"UnreadableApiKeyFile", "[control_plane]\napi_key_file = \"{dir}/missing-key\"\n" + kDatabase,
     "{file}:2: control_plane.api_key_file: cannot read \"{dir}/missing-key\": No such file or "
     "directory"},
    {"MalformedPublicKey",
     "[control_plane]\nrecommendation_public_key = \"ed25519:abc\"\n" + kDatabase,
     "{file}:2: control_plane.recommendation_public_key: expected an Ed25519 public key, "
     "standard base64 of 32 bytes (44 characters) as `optischema-controlplane keys show` prints "
     "it, got \"ed25519:abc\""},
    {"PublicKeyOfWrongLength",
     "[control_plane]\nrecommendation_public_key = "
     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"\n" +
         kDatabase,
     "{file}:2: control_plane.recommendation_public_key: expected an Ed25519 public key, "
     "standard base64 of 32 bytes (44 characters) as `optischema-controlplane keys show` prints "
     "it, got \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\""},
    {"DatabaseWithoutName", "[[database]]\ndsn = \"dbname=shop\"\n",
     "{file}:1: database[0].name: missing; every [[database]] entry needs a unique name"},
    {"DatabaseNameWithSpace", "[[database]]\nname = \"my shop\"\n",
     "{file}:2: database[0].name: expected a name of 1 to 63 characters from A-Z a-z 0-9 _ . -, "
     "got \"my shop\""},
    {"DuplicateDatabaseName", "[[database]]\nname = \"shop\"\n[[database]]\nname = \"shop\"\n",
     "{file}:4: database[1].name: duplicate database name \"shop\", first used at line 2"},
    {"UnparsableDsnIsNotShown",
     "[[database]]\nname = \"shop\"\ndsn = \"host=db password='s3cret\"\n",
     "{file}:3: database[0].dsn: not a libpq connection string or URI (value not shown: it may "
     "hold a password); check quoting of values with spaces and %-escapes in URIs"},
    {"UnreadablePasswordFile",
     "[[database]]\nname = \"shop\"\npassword_file = \"{dir}/missing-pw\"\n",
     "{file}:3: database[0].password_file: cannot read \"{dir}/missing-pw\": No such file or "
     "directory"},
    {"ApplyNotABoolean", "[[database]]\nname = \"shop\"\napply = \"yes\"\n",
     "{file}:3: database[0].apply: expected true or false, got a string"},
    {"MaintenanceWindowWithIanaZone",
     "[[database]]\nname = \"shop\"\nmaintenance_window = \"Sat 01:00-05:00 Europe/Berlin\"\n",
     "{file}:3: database[0].maintenance_window: unsupported time zone \"Europe/Berlin\": use UTC "
     "or a fixed offset like +02:00 or -05:30 (IANA zone names like Europe/Berlin are not "
     "supported) in \"Sat 01:00-05:00 Europe/Berlin\"; expected a form like \"Sat 01:00-05:00 "
     "UTC\", \"Sat,Sun 01:00-05:00 UTC\", "
     "\"Mon-Fri 22:00-02:00 +02:00\" or \"daily 02:00-04:00 UTC\", several separated by ';'"},
    {"MaintenanceWindowHour25",
     "[[database]]\nname = \"shop\"\nmaintenance_window = \"Sat 25:00-05:00 UTC\"\n",
     "{file}:3: database[0].maintenance_window: hour out of range in \"25:00\" (00 to 23, or "
     "24:00 as an end) in \"Sat 25:00-05:00 UTC\"; expected a form like \"Sat 01:00-05:00 UTC\", "
     "\"Sat,Sun 01:00-05:00 UTC\", "
     "\"Mon-Fri 22:00-02:00 +02:00\" or \"daily 02:00-04:00 UTC\", several separated by ';'"},
    {"ApplyStatementTimeoutZero",
     "[[database]]\nname = \"shop\"\napply_statement_timeout = \"0s\"\n",
     "{file}:3: database[0].apply_statement_timeout: expected a duration like \"30s\" or \"5m\", "
     "got \"0s\""},
    {"NoDatabaseAtAll", "[agent]\ninterval = \"30s\"\n",
     "no database configured: add a [[database]] entry to {file} or set OPTISCHEMA_DATABASE_URL"},
};

class ConfigFileCatalogue : public ::testing::TestWithParam<ConfigFileCase> {};

// The message is checked twice: from LoadConfig, and as the one line `optischema-agent run`
// prints before exiting with status 2 without creating its state directory.
TEST_P(ConfigFileCatalogue, LoadingFailsWithTheExactMessageAndNothingStarts) {
  const ConfigFileCase& c = GetParam();
  TempDir dir;
  const std::string file = dir.path() + "/agent.toml";
  const std::string state_dir = dir.path() + "/state";
  // Every case runs with a valid state_dir and control plane unless it sets them itself.
  std::string toml = Expand(c.toml, {{"dir", dir.path()}});
  WriteFile(dir.path() + "/key", "secret-key\n");
  WriteFile(file, toml);
  const std::string written = ReadFile(file);

  const auto no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  const Result<Config> loaded = LoadConfig(file, no_env);
  ASSERT_FALSE(loaded.ok()) << "loaded although it should not";
  EXPECT_EQ(loaded.error().code, ErrorCode::kConfig);
  const std::string expected = Expand(c.expected, {{"file", file}, {"dir", dir.path()}});
  EXPECT_EQ(loaded.error().message, expected);

  const auto run = testing::RunAgent(
      "OPTISCHEMA_STATE_DIR='" + state_dir + "' OPTISCHEMA_CONTROL_PLANE_URL='https://127.0.0.1:9'",
      "--config " + file + " run");
  EXPECT_EQ(run.status, 2) << run.err;
  EXPECT_EQ(run.err, "optischema-agent: " + expected + "\n");
  EXPECT_FALSE(std::filesystem::exists(state_dir));
  EXPECT_EQ(ReadFile(file), written);
}

INSTANTIATE_TEST_SUITE_P(Catalogue, ConfigFileCatalogue, ::testing::ValuesIn(kConfigFileCases),
                         CaseName());

// A state directory that cannot be created stops `run` with a message naming the setting, the
// path and the reason, before anything is collected or sent.
TEST(ConfigFileCatalogueRun, StateDirThatCannotBeCreatedStopsTheDaemonWithItsName) {
  TempDir dir;
  WriteFile(dir.path() + "/not-a-dir", "x");
  const std::string state_dir = dir.path() + "/not-a-dir/state";
  const std::string file = dir.path() + "/agent.toml";
  WriteFile(file, "[agent]\nstate_dir = \"" + state_dir +
                      "\"\nlog_format = \"json\"\n[control_plane]\nurl = "
                      "\"https://127.0.0.1:9\"\napi_key = \"k\"\n" +
                      kDatabase);
  const auto run = testing::RunAgent("", "--config " + file + " run");
  EXPECT_EQ(run.status, 1) << run.err;
  json critical;
  std::istringstream lines(run.err);
  for (std::string line; std::getline(lines, line);) {
    const json parsed = json::parse(line, nullptr, false);
    if (parsed.is_object() && parsed.value("level", "") == "critical") critical = parsed;
  }
  ASSERT_TRUE(critical.is_object()) << run.err;
  EXPECT_EQ(critical.value("msg", ""), "cannot start: agent identity unusable in agent.state_dir");
  EXPECT_EQ(critical.value("error", ""),
            state_dir + ": cannot create state directory: Not a directory");
  EXPECT_EQ(critical.value("state_dir", ""), state_dir);
  EXPECT_FALSE(std::filesystem::exists(state_dir));
}

// ==============================================================================================
// Family 2: environment values

struct EnvCase {
  const char* name;
  std::map<std::string, std::string> env;  // "{dir}" is the case's directory
  std::string expected;                    // the whole message
};

void PrintTo(const EnvCase& c, std::ostream* os) { *os << c.name; }

const EnvCase kEnvCases[] = {
    {"IntervalZero",
     {{"OPTISCHEMA_INTERVAL", "0s"}},
     "environment OPTISCHEMA_INTERVAL: expected a duration like \"30s\" or \"5m\", got \"0s\""},
    {"HeartbeatIntervalInParsecs",
     {{"OPTISCHEMA_HEARTBEAT_INTERVAL", "30 parsecs"}},
     "environment OPTISCHEMA_HEARTBEAT_INTERVAL: expected a duration like \"30s\" or \"5m\", got "
     "\"30 parsecs\""},
    {"RecommendationsIntervalCombined",
     {{"OPTISCHEMA_RECOMMENDATIONS_INTERVAL", "1h30m"}},
     "environment OPTISCHEMA_RECOMMENDATIONS_INTERVAL: expected a duration like \"30s\" or "
     "\"5m\", got \"1h30m\""},
    {"AdvisorIntervalNegative",
     {{"OPTISCHEMA_ADVISOR_INTERVAL", "-1m"}},
     "environment OPTISCHEMA_ADVISOR_INTERVAL: expected a duration like \"30s\" or \"5m\", got "
     "\"-1m\""},
    {"SpoolMaxBytesTebibytes",
     {{"OPTISCHEMA_SPOOL_MAX_BYTES", "2TiB"}},
     "environment OPTISCHEMA_SPOOL_MAX_BYTES: expected a size from 64KiB to 1024GiB like "
     "\"256MiB\", got \"2TiB\""},
    {"LogFormatXml",
     {{"OPTISCHEMA_LOG_FORMAT", "xml"}},
     "environment OPTISCHEMA_LOG_FORMAT: expected \"text\" or \"json\", got \"xml\""},
    {"LogLevelVerbose",
     {{"OPTISCHEMA_LOG_LEVEL", "verbose"}},
     "environment OPTISCHEMA_LOG_LEVEL: expected one of trace, debug, info, warn, error, "
     "critical, off, got \"verbose\""},
    {"LogOutputFile",
     {{"OPTISCHEMA_LOG_OUTPUT", "/var/log/agent.log"}},
     "environment OPTISCHEMA_LOG_OUTPUT: expected \"stderr\" or \"stdout\", got "
     "\"/var/log/agent.log\""},
    {"ControlPlaneUrlFtp",
     {{"OPTISCHEMA_CONTROL_PLANE_URL", "ftp://control.example.com"}},
     "environment OPTISCHEMA_CONTROL_PLANE_URL: expected an https:// URL (http:// only for "
     "127.0.0.1, localhost or [::1]), got \"ftp://control.example.com\""},
    {"ProxyValueIsNotShown",
     {{"OPTISCHEMA_PROXY", "ftp://user:pw@proxy"}},
     "environment OPTISCHEMA_PROXY: expected a proxy URL like \"http://proxy:3128\", got a value "
     "that is not shown (it may hold a password)"},
    {"MaxStatementsNotANumber",
     {{"OPTISCHEMA_MAX_STATEMENTS", "lots"}},
     "environment OPTISCHEMA_MAX_STATEMENTS: expected an integer from 10 to 1000000, got "
     "\"lots\""},
    {"MaxStatementsTooLarge",
     {{"OPTISCHEMA_MAX_STATEMENTS", "99999999999"}},
     "environment OPTISCHEMA_MAX_STATEMENTS: expected an integer from 10 to 1000000, got "
     "\"99999999999\""},
    {"SendQueryTextRaw",
     {{"OPTISCHEMA_SEND_QUERY_TEXT", "raw"}},
     "environment OPTISCHEMA_SEND_QUERY_TEXT: expected \"normalized\" or \"none\", got \"raw\""},
    {"ApiKeyAndApiKeyFileTogether",
     {{"OPTISCHEMA_API_KEY", "k"}, {"OPTISCHEMA_API_KEY_FILE", "{dir}/key"}},
     "environment OPTISCHEMA_API_KEY_FILE: cannot be combined with OPTISCHEMA_API_KEY; set only "
     "one"},
    {"ApiKeyFileMissing",
     {{"OPTISCHEMA_API_KEY_FILE", "{dir}/missing-key"}},
     "environment OPTISCHEMA_API_KEY_FILE: cannot read \"{dir}/missing-key\": No such file or "
     "directory"},
    {"ApiKeyFileEmpty",
     {{"OPTISCHEMA_API_KEY_FILE", "{dir}/empty-key"}},
     "environment OPTISCHEMA_API_KEY_FILE: file \"{dir}/empty-key\" is empty"},
    {"ApiKeyWithLineBreakIsNotShown",
     {{"OPTISCHEMA_API_KEY", "abc\ndef"}},
     "environment OPTISCHEMA_API_KEY: the API key contains a line break or other control "
     "character (key not shown)"},
    {"DatabaseUrlUnparsable",
     {{"OPTISCHEMA_DATABASE_URL", "host=db password='s3cret"}},
     "environment OPTISCHEMA_DATABASE_URL: not a libpq connection string or URI (value not "
     "shown: it may hold a password); check quoting of values with spaces and %-escapes in URIs"},
    {"DatabasePasswordFileWithoutDatabase",
     {{"OPTISCHEMA_DATABASE_URL", ""}, {"OPTISCHEMA_DATABASE_PASSWORD_FILE", "{dir}/pw"}},
     "environment OPTISCHEMA_DATABASE_PASSWORD_FILE: applies to the database named \"default\", "
     "which is not configured; set OPTISCHEMA_DATABASE_URL as well"},
    {"DatabasePasswordFileMissing",
     {{"OPTISCHEMA_DATABASE_PASSWORD_FILE", "{dir}/missing-pw"}},
     "environment OPTISCHEMA_DATABASE_PASSWORD_FILE: cannot read \"{dir}/missing-pw\": No such "
     "file or directory"},
    {"ConfigFileMissing",
     {{"OPTISCHEMA_CONFIG", "{dir}/missing.toml"}},
     "environment OPTISCHEMA_CONFIG: {dir}/missing.toml: cannot read configuration: No such file "
     "or directory"},
};

class EnvCatalogue : public ::testing::TestWithParam<EnvCase> {};

TEST_P(EnvCatalogue, LoadingFailsWithTheExactMessageNamingTheVariable) {
  const EnvCase& c = GetParam();
  TempDir dir;
  WriteFile(dir.path() + "/key", "secret-key\n");
  WriteFile(dir.path() + "/empty-key", " \n");
  WriteFile(dir.path() + "/pw", "pw\n");
  // A valid environment-only configuration, then the case's values on top.
  std::map<std::string, std::string> env = {{"OPTISCHEMA_DATABASE_URL", "dbname=shop"}};
  for (const auto& [name, value] : c.env) env[name] = Expand(value, {{"dir", dir.path()}});
  const auto lookup = [&env](const std::string& name) -> std::optional<std::string> {
    const auto found = env.find(name);
    if (found == env.end()) return std::nullopt;
    return found->second;
  };
  const Result<Config> loaded = LoadConfig("", lookup);
  ASSERT_FALSE(loaded.ok()) << "loaded although it should not";
  EXPECT_EQ(loaded.error().code, ErrorCode::kConfig);
  const std::string expected = Expand(c.expected, {{"dir", dir.path()}});
  EXPECT_EQ(loaded.error().message, expected);

  // The same line from `optischema-agent run` in that environment, which exits with status 2
  // before creating its state directory.
  const std::string state_dir = dir.path() + "/state";
  std::string assignments = "OPTISCHEMA_STATE_DIR=" + ShellQuote(state_dir) +
                            " OPTISCHEMA_CONTROL_PLANE_URL=https://127.0.0.1:9";
  for (const auto& [name, value] : env) assignments += " " + name + "=" + ShellQuote(value);
  const auto run = testing::RunAgent(assignments, "run");
  EXPECT_EQ(run.status, 2) << run.err;
  EXPECT_EQ(run.err, "optischema-agent: " + expected + "\n");
  EXPECT_FALSE(std::filesystem::exists(state_dir));
}

INSTANTIATE_TEST_SUITE_P(Catalogue, EnvCatalogue, ::testing::ValuesIn(kEnvCases), CaseName());

// ==============================================================================================
// Shared PostgreSQL: one throwaway cluster for the process, a fresh database per case.

PgCluster& SharedCluster() {
  static std::unique_ptr<PgCluster> cluster = [] {
    auto started = PgCluster::Start();
    started->Exec("CREATE EXTENSION pg_stat_statements");
    started->CreateDatabase("catalogue_template");
    started->Exec(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, status text, ref text);"
        "CREATE UNIQUE INDEX orders_ref_key ON orders (ref);"
        "CREATE INDEX orders_status ON orders (status);"
        "CREATE VIEW open_orders AS SELECT * FROM orders WHERE status = 'open';"
        "CREATE EXTENSION pg_stat_statements;"
        "CREATE TABLE events (id bigint, at date) PARTITION BY RANGE (at);"
        "INSERT INTO orders SELECT g, g % 100, 'done', 'r' || g FROM generate_series(1, 1000) g;"
        "ANALYZE orders",
        "catalogue_template");
    return started;
  }();
  return *cluster;
}

// What a refused recommendation must not change, in one text: the user relations and indexes of
// the database (with validity and storage parameters), the row count, and what ALTER SYSTEM has
// set.
std::string DatabaseState(PgCluster& cluster, const std::string& db) {
  return cluster.QueryValue(
             "SELECT string_agg(c.relname::text || ':' || c.relkind::text || ':' || "
             "coalesce(i.indisvalid::text, '-') || ':' || coalesce(c.reloptions::text, '-'), ',' "
             "ORDER BY c.relname) FROM pg_class c JOIN "
             "pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_index i ON i.indexrelid = "
             "c.oid WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname "
             "NOT LIKE 'pg_toast%'",
             db) +
         " rows=" + cluster.QueryValue("SELECT count(*) FROM orders", db) + " auto.conf=" +
         cluster.QueryValue(
             "SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'");
}

// Statements that change something, run in database `db` since the last reset.
std::string ChangingStatements(PgCluster& cluster, const std::string& db) {
  return cluster.QueryValue(
      "SELECT count(*) || coalesce(': ' || string_agg(query, ' | '), '') FROM pg_stat_statements "
      "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '" +
      db +
      "') AND query ~* "
      "'^\\s*(/\\*.*?\\*/\\s*)?(CREATE|DROP|ALTER|INSERT|UPDATE|DELETE|TRUNCATE|REINDEX|VACUUM)"
      "\\M'");
}

// ==============================================================================================
// Family 3: recommendations, through ParseRecommendationList + CheckRecommendation (signature
// included) + Executor, as the ApplyWorker runs them against a real database.

class RecommendationFixture;

struct RecommendationCase {
  const char* name;
  // Returns the element as served in the pull reply (raw JSON), given the fixture for signing.
  std::function<std::string(RecommendationFixture&)> make;
  std::string expected;  // the detail of the `rejected` event and the `rejected` audit record
  // Runs before the bad input, e.g. to apply the recommendation a replay repeats.
  std::function<void(RecommendationFixture&)> prepare = nullptr;
  bool without_public_key = false;  // the agent has no recommendation_public_key
};

void PrintTo(const RecommendationCase& c, std::ostream* os) { *os << c.name; }

class RecommendationFixture : public ::testing::TestWithParam<RecommendationCase> {
 public:
  // A valid, approved create_index recommendation for this agent, unsigned.
  static json Base(const std::string& id) {
    return {
        {"id", id},
        {"agent_id", kAgentId},
        {"database", "shop"},
        {"kind", "create_index"},
        {"spec", {{"schema", "public"}, {"table", "orders"}, {"columns", {"customer_id"}}}},
        {"affected_queryids", json::array()},
        {"guard", {{"verify_window_s", 60}, {"max_regression_pct", 10}, {"auto_rollback", false}}},
        {"approved_by", "dba"},
        {"approved_at", "2026-11-26T12:00:00Z"},
        {"expires_at", "2099-01-01T00:00:00Z"}};
  }

  // `text` with a signature by `private_key` over its signing bytes; works for any JSON object,
  // valid recommendation or not, as a signing control plane that does not validate would.
  static std::string SignWith(const std::string& text, const std::string& private_key) {
    const Result<std::string> bytes = protocol::RecommendationSigningBytes(text);
    const std::string body = bytes.ok() ? *bytes : text;
    const Result<std::string> signature = protocol::Ed25519Sign(private_key, body);
    EXPECT_TRUE(signature.ok());
    return body.substr(0, body.rfind('}')) + ",\"signature\":\"" +
           (signature.ok() ? *signature : "") + "\"}";
  }
  std::string Sign(const json& rec) { return SignWith(rec.dump(), keys_.private_key_b64); }
  std::string Sign(const std::string& text) { return SignWith(text, keys_.private_key_b64); }

  // Submits `element` as a pull reply and waits for its final event (or, without an id, for the
  // log line about it).
  void Submit(const std::string& element) {
    worker_->Submit(R"({"protocol":"1","recommendations":[)" + element + "]}");
  }
  std::optional<protocol::RecommendationEvent> WaitFinalEvent(const std::string& id) {
    std::optional<protocol::RecommendationEvent> found;
    WaitFor(
        [&] {
          std::lock_guard lock(mu_);
          for (const auto& event : events_) {
            if (event.recommendation_id == id && event.event != "validated" &&
                event.event != "started") {
              found = event;
            }
          }
          return found.has_value();
        },
        60s, 20ms);
    return found;
  }
  // The schema digest of the case database's orders table now, as the applier computes it.
  std::string OrdersDigest() {
    pg::ConnectOptions options;
    options.dsn = cluster_->ConnectionString(db_);
    auto session = pg::ConnectLibpq(options);
    if (!session.ok()) return "(cannot connect)";
    auto key = ReadDigestKey(dir_.path());
    if (!key.ok()) return "(no digest key)";
    auto digest = pg::ReadTableDigest(**session, *key, {"public", "orders"});
    return digest.ok() && *digest ? **digest : "(none)";
  }
  std::vector<std::string> Events(const std::string& id) {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& event : events_) {
      if (event.recommendation_id == id) out.push_back(event.event);
    }
    return out;
  }

 protected:
  void SetUp() override {
    cluster_ = &SharedCluster();
    db_ = "case_" + std::to_string(++counter_);
    cluster_->Exec("CREATE DATABASE " + db_ + " TEMPLATE catalogue_template");
    keys_ = protocol::GenerateEd25519KeyPair().value();
    other_keys_ = protocol::GenerateEd25519KeyPair().value();
    logs_ = CaptureLogs();
    audit_ = applier::AuditLog::Open(dir_.path() + "/audit.jsonl", clock_).value();
    // The key the daemon makes at start; the worker reads it to compare table digests.
    ASSERT_TRUE(LoadOrCreateDigestKey(dir_.path()).ok());
    StartWorker(GetParam().without_public_key ? "" : keys_.public_key_b64);
  }
  void TearDown() override {
    worker_.reset();
    audit_.reset();
    cluster_->Exec("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }

  void StartWorker(const std::string& public_key) {
    Config config;
    config.state_dir = dir_.path();
    config.recommendation_public_key = public_key;
    DatabaseConfig shop;
    shop.name = "shop";
    shop.dsn = cluster_->ConnectionString(db_);
    shop.apply = true;
    DatabaseConfig readonly = shop;
    readonly.name = "readonly";
    readonly.apply = false;
    config.databases = {shop, readonly};
    worker_ = std::make_unique<ApplyWorker>(config, kAgentId, *audit_,
                                            [this](protocol::RecommendationEvent event) {
                                              std::lock_guard lock(mu_);
                                              events_.push_back(std::move(event));
                                            });
  }

 public:
  static inline int counter_ = 0;
  TempDir dir_;
  SystemClock clock_;
  PgCluster* cluster_ = nullptr;
  std::string db_;
  protocol::Ed25519KeyPair keys_;
  protocol::Ed25519KeyPair other_keys_;
  std::shared_ptr<CaptureSink> logs_;
  std::unique_ptr<applier::AuditLog> audit_;
  std::unique_ptr<ApplyWorker> worker_;
  std::mutex mu_;
  std::vector<protocol::RecommendationEvent> events_;
};

// Shorthands for the table below.
json With(json rec, const json::json_pointer& at, json value) {
  rec[at] = std::move(value);
  return rec;
}
json Without(json rec, const std::string& key) {
  rec.erase(key);
  return rec;
}
json SetConfig(const std::string& id, const std::string& name, const std::string& value) {
  json rec = RecommendationFixture::Base(id);
  rec["kind"] = "set_config";
  rec["spec"] = {{"name", name}, {"value", value}};
  return rec;
}
json Rewrite(const std::string& id, const std::string& original, const std::string& rewritten) {
  json rec = RecommendationFixture::Base(id);
  rec["kind"] = "rewrite";
  rec["spec"] = {{"original", original}, {"rewritten", rewritten}};
  return rec;
}
json TableOptions(const std::string& id, const std::string& table, const json& options) {
  json rec = RecommendationFixture::Base(id);
  rec["kind"] = "set_table_options";
  rec["spec"] = {{"schema", "public"}, {"table", table}, {"options", options}};
  return rec;
}
json AnalyzeTable(const std::string& id, const std::string& table) {
  json rec = RecommendationFixture::Base(id);
  rec["kind"] = "analyze_table";
  rec["spec"] = {{"schema", "public"}, {"table", table}};
  return rec;
}
json DropIndex(const std::string& id, const std::string& index) {
  json rec = RecommendationFixture::Base(id);
  rec["kind"] = "drop_index";
  rec["spec"] = {{"schema", "public"}, {"index", index}};
  return rec;
}
using F = RecommendationFixture;
using P = json::json_pointer;

std::string AllowList(const std::string& name) {
  return "setting " + name +
         " is not on the agent's allow-list of settings safe to tune for performance "
         "(docs/security.md); change it by hand if that is intended";
}

// Rows refused before the element's signature verified (size, strict parse, key, signature):
// audited with id, size and verdict only, under this prefix.
constexpr char kUnverified[] = "refused before verification: ";
bool RefusedUnverified(const std::string& name) {
  static const std::set<std::string> kNames = {"SignedWithAnotherKey",
                                               "SpecTamperedAfterSigning",
                                               "Unsigned",
                                               "SignatureNotBase64",
                                               "ApplyingOffWithoutPublicKey",
                                               "UnknownKind",
                                               "UnknownSpecMember",
                                               "MissingGuard",
                                               "FloatInGuard",
                                               "DuplicateKey",
                                               "EmptyColumnList",
                                               "IdentifierOver63Bytes",
                                               "NulInIdentifier",
                                               "UnknownIndexMethod",
                                               "SettingNameWithSql",
                                               "TableOptionUnknownName",
                                               "TableOptionNameWithSql",
                                               "TableOptionBelowTheRange",
                                               "TableOptionAboveTheRange",
                                               "TableOptionMalformedNumber",
                                               "TableOptionWithExponent",
                                               "TableOptionBoolSpelledWrong",
                                               "TableOptionNotAString",
                                               "TableOptionsEmpty",
                                               "TableOptionsWithTableDigest",
                                               "ElementOver64KiB"};
  return kNames.contains(name);
}

const RecommendationCase kRecommendationCases[] = {
    // Signature and envelope.
    {"SignedWithAnotherKey",
     [](F& f) {
       return F::SignWith(F::Base("cat-other-key").dump(), f.other_keys_.private_key_b64);
     },
     "signature does not verify with recommendation_public_key: the content was changed after "
     "signing, or signed with another key"},
    {"SpecTamperedAfterSigning",
     [](F& f) {
       std::string signed_text = f.Sign(F::Base("cat-tampered"));
       return signed_text.replace(signed_text.find("customer_id"), 11, "status");
     },
     "signature does not verify with recommendation_public_key: the content was changed after "
     "signing, or signed with another key"},
    {"Unsigned", [](F&) { return F::Base("cat-unsigned").dump(); },
     "recommendation is not signed: only signed recommendations are applied"},
    {"SignatureNotBase64",
     [](F&) { return With(F::Base("cat-sig-garbage"), P("/signature"), "not base64!").dump(); },
     "signature: not a base64 Ed25519 signature (64 bytes): not standard base64: length 11 is not "
     "a "
     "multiple of 4"},
    {"ApplyingOffWithoutPublicKey", [](F& f) { return f.Sign(F::Base("cat-no-key")); },
     "applying is off: control_plane.recommendation_public_key is not set", nullptr, true},
    {"Expired",
     [](F& f) {
       return f.Sign(With(F::Base("cat-expired"), P("/expires_at"), "2020-01-01T00:00:00Z"));
     },
     "recommendation expired at 2020-01-01T00:00:00Z"},
    {"ForAnotherAgent",
     [](F& f) {
       return f.Sign(
           With(F::Base("cat-foreign"), P("/agent_id"), "11111111-2222-4333-8444-555555555555"));
     },
     "recommendation is for another agent"},
    {"DatabaseNotConfigured",
     [](F& f) { return f.Sign(With(F::Base("cat-no-db"), P("/database"), "billing")); },
     "database is not configured on this agent"},
    {"DatabaseIsReadOnly",
     [](F& f) { return f.Sign(With(F::Base("cat-readonly"), P("/database"), "readonly")); },
     "apply = false for database readonly (read-only); set apply = true in its [[database]] "
     "entry to allow changes"},
    // Shape.
    {"UnknownKind",
     [](F& f) { return f.Sign(With(F::Base("cat-kind"), P("/kind"), "vacuum_full")); },
     "recommendation cat-kind: kind: must be one of create_index, drop_index, set_config, rewrite, "
     "set_table_options, analyze_table"},
    {"UnknownSpecMember",
     [](F& f) { return f.Sign(With(F::Base("cat-member"), P("/spec/tablespace"), "fast")); },
     "recommendation cat-member: spec.tablespace: unknown field"},
    {"MissingGuard", [](F& f) { return f.Sign(Without(F::Base("cat-guard"), "guard")); },
     "recommendation cat-guard: guard: missing"},
    {"FloatInGuard",
     [](F&) {
       std::string text = F::Base("cat-float").dump();
       const std::string from = "\"max_regression_pct\":10";
       text.replace(text.find(from), from.size(), "\"max_regression_pct\":10.5");
       return text.substr(0, text.size() - 1) + ",\"signature\":\"" + std::string(86, 'A') +
              "==\"}";
     },
     "recommendation cat-float: canonical JSON allows integers only: $.guard.max_regression_pct is "
     "10.5; send fractions as strings or in integer units"},
    {"DuplicateKey",
     [](F& f) { return "{\"kind\":\"drop_index\"," + f.Sign(F::Base("cat-dup")).substr(1); },
     "recommendation cat-dup: canonical JSON allows no duplicate keys: $ has kind twice"},
    {"EmptyColumnList",
     [](F& f) {
       return f.Sign(With(F::Base("cat-no-columns"), P("/spec/columns"), json::array()));
     },
     "recommendation cat-no-columns: spec.columns: must not be empty"},
    {"IdentifierOver63Bytes",
     [](F& f) { return f.Sign(With(F::Base("cat-long"), P("/spec/table"), std::string(64, 'a'))); },
     "recommendation cat-long: spec.table: must be an identifier of 1 to 63 bytes"},
    {"NulInIdentifier",
     [](F& f) {
       return f.Sign(With(F::Base("cat-nul"), P("/spec/table"), std::string("orders\0x", 8)));
     },
     "recommendation cat-nul: spec.table: must not contain U+0000"},
    {"UnknownIndexMethod",
     [](F& f) { return f.Sign(With(F::Base("cat-method"), P("/spec/method"), "btree; DROP")); },
     "recommendation cat-method: spec.method: must be one of btree, hash, gist, gin, brin"},
    {"SettingNameWithSql",
     [](F& f) { return f.Sign(SetConfig("cat-guc-sql", "work_mem = 1; DROP TABLE orders", "1")); },
     "recommendation cat-guc-sql: spec.name: must be a configuration parameter name"},
    // Identifiers and predicates that would be SQL injection if pasted into a statement.
    {"InjectionInTableName",
     [](F& f) {
       return f.Sign(
           With(F::Base("cat-inject-table"), P("/spec/table"), "orders\"; DROP TABLE orders; --"));
     },
     "table does not exist: \"public\".\"orders\"\"; DROP TABLE orders; --\""},
    {"InjectionInColumnName",
     [](F& f) {
       return f.Sign(With(F::Base("cat-inject-column"), P("/spec/columns"),
                          {"customer_id\") WITH (fillfactor = 10"}));
     },
     "column \"customer_id\"\") WITH (fillfactor = 10\" does not exist in "
     "\"public\".\"orders\""},
    {"InjectionInSchemaName",
     [](F& f) {
       return f.Sign(With(F::Base("cat-inject-schema"), P("/spec/schema"), "public\".\"x"));
     },
     "table does not exist: \"public\"\".\"\"x\".\"orders\""},
    {"FunctionCallInPredicate",
     [](F& f) {
       return f.Sign(With(F::Base("cat-where-fn"), P("/spec/where"), "lower(status) = 'open'"));
     },
     "where: function calls are not allowed"},
    {"SubqueryInPredicate",
     [](F& f) {
       return f.Sign(With(F::Base("cat-where-sub"), P("/spec/where"),
                          "customer_id IN (SELECT id FROM orders)"));
     },
     "where: subqueries are not allowed"},
    {"SecondStatementAfterPredicate",
     [](F& f) {
       return f.Sign(
           With(F::Base("cat-where-two"), P("/spec/where"), "status = 'open'; DROP TABLE orders"));
     },
     "where: does not parse as an SQL expression"},
    {"UnknownTable",
     [](F& f) { return f.Sign(With(F::Base("cat-no-table"), P("/spec/table"), "invoices")); },
     "table does not exist: \"public\".\"invoices\""},
    {"UnknownColumn",
     [](F& f) { return f.Sign(With(F::Base("cat-no-column"), P("/spec/columns"), {"discount"})); },
     "column \"discount\" does not exist in \"public\".\"orders\""},
    {"DropIndexThatDoesNotExist",
     [](F& f) { return f.Sign(DropIndex("cat-drop-missing", "orders_missing")); },
     "index does not exist: \"public\".\"orders_missing\""},
    {"DropIndexBackingAConstraint",
     [](F& f) { return f.Sign(DropIndex("cat-drop-pkey", "orders_pkey")); },
     "index \"orders_pkey\" backs a constraint; it is never dropped"},
    {"DropUniqueIndex", [](F& f) { return f.Sign(DropIndex("cat-drop-unique", "orders_ref_key")); },
     "index \"orders_ref_key\" is unique: dropping it would stop enforcing uniqueness; drop it by "
     "hand if that is intended"},
    {"CreateIndexOnAView",
     [](F& f) { return f.Sign(With(F::Base("cat-view"), P("/spec/table"), "open_orders")); },
     "\"public\".\"open_orders\" is not a table"},
    {"CreateIndexOnAPartitionedTable",
     [](F& f) {
       return f.Sign(With(With(F::Base("cat-partitioned"), P("/spec/table"), "events"),
                          P("/spec/columns"), {"at"}));
     },
     "partitioned tables are not supported yet: propose the index per partition"},
    {"TableChangedSinceTheRecommendation",
     [](F& f) { return f.Sign(With(F::Base("cat-digest"), P("/table_digest"), "0123abcd")); },
     "schema changed since the recommendation was made: table \"public\".\"orders\" had digest "
     "0123abcd, now {digest}; ask for a new recommendation"},
    // Settings.

    {"BooleanSettingWithWordValue",
     [](F& f) { return f.Sign(SetConfig("cat-guc-bool", "enable_seqscan", "maybe")); },
     "value for enable_seqscan must be one of: on,off,true,false,yes,no,1,0"},
    {"EnumSettingWithUnknownValue",
     [](F& f) { return f.Sign(SetConfig("cat-guc-enum", "plan_cache_mode", "maximum")); },
     "value for plan_cache_mode must be one of: auto,force_generic_plan,force_custom_plan"},
    {"NumberBelowTheMinimum",
     [](F& f) { return f.Sign(SetConfig("cat-guc-range", "work_mem", "-5")); },
     "value for work_mem must be between 64 and 2147483647"},
    {"NumberAboveTheMaximum",
     [](F& f) { return f.Sign(SetConfig("cat-guc-max", "work_mem", "99999999999")); },
     "value for work_mem must be between 64 and 2147483647"},
    // Settings off the allow-list (applier/settings_allow_list.h), refused before the database
    // is contacted: files moved, durability or replication safety off, code loaded, and any
    // setting the list does not name, in any case.
    {"AllowListLogDirectory",
     [](F& f) { return f.Sign(SetConfig("cat-allow-logdir", "log_directory", "/tmp")); },
     AllowList("log_directory")},
    {"AllowListFsync", [](F& f) { return f.Sign(SetConfig("cat-allow-fsync", "fsync", "off")); },
     AllowList("fsync")},
    {"AllowListSessionReplicationRole",
     [](F& f) { return f.Sign(SetConfig("cat-allow-srr", "session_replication_role", "replica")); },
     AllowList("session_replication_role")},
    {"AllowListSharedPreloadLibrariesInOtherCase",
     [](F& f) { return f.Sign(SetConfig("cat-allow-spl", "Shared_Preload_Libraries", "evil")); },
     AllowList("Shared_Preload_Libraries")},
    {"AllowListArchiveCommand",
     [](F& f) { return f.Sign(SetConfig("cat-allow-archive", "archive_command", "rm -rf ~")); },
     AllowList("archive_command")},
    {"AllowListExtensionControlPath",
     [](F& f) { return f.Sign(SetConfig("cat-allow-ecp", "extension_control_path", "/tmp")); },
     AllowList("extension_control_path")},
    {"AllowListOauthValidatorLibraries",
     [](F& f) { return f.Sign(SetConfig("cat-allow-oauth", "oauth_validator_libraries", "x")); },
     AllowList("oauth_validator_libraries")},
    {"AllowListUnknownSetting",
     [](F& f) { return f.Sign(SetConfig("cat-allow-unknown", "no_such_setting", "1")); },
     AllowList("no_such_setting")},
    {"AllowListInternalSetting",
     [](F& f) { return f.Sign(SetConfig("cat-allow-internal", "block_size", "16384")); },
     AllowList("block_size")},
    // Table options: only the allow-listed autovacuum options, in range, as plain decimal text
    // (protocol/table_options_allow_list.h), refused by the strict parse; values never echoed.
    {"TableOptionUnknownName",
     [](F& f) {
       return f.Sign(TableOptions("cat-opt-name", "orders", {{"fillfactor", "50"}}));
     },
     "recommendation cat-opt-name: spec.options.fillfactor: not an option set_table_options may "
     "change (the autovacuum_* options and their toast.* forms listed in docs/protocol-v1.md)"},
    {"TableOptionNameWithSql",
     [](F& f) {
       return f.Sign(TableOptions("cat-opt-sql", "orders",
                                  {{"autovacuum_enabled = true); DROP TABLE orders; --", "true"}}));
     },
     "recommendation cat-opt-sql: spec.options: unknown option with an unusual name"},
    {"TableOptionBelowTheRange",
     [](F& f) {
       return f.Sign(
           TableOptions("cat-opt-low", "orders", {{"autovacuum_freeze_max_age", "99999"}}));
     },
     "recommendation cat-opt-low: spec.options.autovacuum_freeze_max_age: must be an integer from "
     "100000 to 2000000000"},
    {"TableOptionAboveTheRange",
     [](F& f) {
       return f.Sign(
           TableOptions("cat-opt-high", "orders", {{"autovacuum_vacuum_scale_factor", "100.01"}}));
     },
     "recommendation cat-opt-high: spec.options.autovacuum_vacuum_scale_factor: must be a decimal "
     "number from 0 to 100 (digits and at most one '.', no exponent)"},
    {"TableOptionMalformedNumber",
     [](F& f) {
       return f.Sign(
           TableOptions("cat-opt-text", "orders", {{"autovacuum_vacuum_threshold", "50; RESET"}}));
     },
     "recommendation cat-opt-text: spec.options.autovacuum_vacuum_threshold: must be an integer "
     "from 0 to 2147483647"},
    {"TableOptionWithExponent",
     [](F& f) {
       return f.Sign(
           TableOptions("cat-opt-exp", "orders", {{"toast.autovacuum_vacuum_cost_delay", "1e1"}}));
     },
     "recommendation cat-opt-exp: spec.options.toast.autovacuum_vacuum_cost_delay: must be a "
     "decimal number from 0 to 100 (digits and at most one '.', no exponent)"},
    {"TableOptionBoolSpelledWrong",
     [](F& f) {
       return f.Sign(TableOptions("cat-opt-bool", "orders", {{"autovacuum_enabled", "off"}}));
     },
     "recommendation cat-opt-bool: spec.options.autovacuum_enabled: must be true or false"},
    {"TableOptionNotAString",
     [](F& f) {
       return f.Sign(
           TableOptions("cat-opt-int", "orders", {{"autovacuum_vacuum_cost_limit", 200}}));
     },
     "recommendation cat-opt-int: spec.options.autovacuum_vacuum_cost_limit: must be a string, an "
     "integer from 1 to 10000"},
    {"TableOptionsEmpty",
     [](F& f) { return f.Sign(TableOptions("cat-opt-none", "orders", json::object())); },
     "recommendation cat-opt-none: spec.options: must be an object of 1 to 16 options, each name "
     "to a string value"},
    {"TableOptionsWithTableDigest",
     [](F& f) {
       return f.Sign(
           With(TableOptions("cat-opt-digest", "orders", {{"autovacuum_enabled", "true"}}),
                P("/table_digest"), "0123abcd"));
     },
     "recommendation cat-opt-digest: table_digest: only create_index and drop_index carry a table "
     "digest"},
    {"TableOptionsOnAPartitionedTable",
     [](F& f) {
       return f.Sign(TableOptions("cat-opt-parted", "events", {{"autovacuum_enabled", "false"}}));
     },
     "\"public\".\"events\" is a partitioned table: it holds no rows and PostgreSQL takes no "
     "autovacuum options for it; set them on its partitions"},
    {"TableOptionsOnAView",
     [](F& f) {
       return f.Sign(
           TableOptions("cat-opt-view", "open_orders", {{"autovacuum_enabled", "false"}}));
     },
     "\"public\".\"open_orders\" is not a table or materialized view"},
    {"TableOptionsInjectionInTableName",
     [](F& f) {
       return f.Sign(TableOptions("cat-opt-inject", "orders\" SET (fillfactor = 10); --",
                                  {{"autovacuum_enabled", "false"}}));
     },
     "table does not exist: \"public\".\"orders\"\" SET (fillfactor = 10); --\""},
    // ANALYZE runs index expressions: a table with one is refused, nothing run.
    {"AnalyzeOfATableWithAnExpressionIndex",
     [](F& f) { return f.Sign(AnalyzeTable("cat-analyze-expr", "orders")); },
     "\"public\".\"orders\" (or a partition or child of it) has an expression or partial index: "
     "ANALYZE would run code a database user wrote, so the agent does not run it; nothing was run",
     [](F& f) {
       f.cluster_->Exec("CREATE INDEX orders_lower_status ON orders (lower(status))", f.db_);
     }},
    {"AnalyzeOfAView", [](F& f) { return f.Sign(AnalyzeTable("cat-analyze-view", "open_orders")); },
     "\"public\".\"open_orders\" is not a table or materialized view"},
    // Elements refused unread: larger than any real recommendation.
    {"ElementOver64KiB",
     [](F& f) {
       return f.Sign(With(F::Base("cat-huge"), P("/reason"), std::string(70 * 1024, 'x')));
     },
     "recommendation is larger than 64 KiB; refused unread"},
    // Rewrites: only plain SELECTs are planned, never run.
    {"RewriteOfADelete",
     [](F& f) {
       return f.Sign(Rewrite("cat-rewrite-delete", "DELETE FROM orders WHERE id = $1",
                             "SELECT 1 FROM orders WHERE id = $1"));
     },
     "original: must be a SELECT"},
    {"RewriteWithASecondStatement",
     [](F& f) {
       return f.Sign(Rewrite("cat-rewrite-two", "SELECT * FROM orders WHERE id = $1",
                             "SELECT * FROM orders WHERE id = $1; DROP TABLE orders"));
     },
     "rewritten: must be exactly one statement"},
    {"RewriteOfAStatementTheDatabaseNeverRan",
     [](F& f) {
       return f.Sign(Rewrite("cat-rewrite-unobserved", "SELECT * FROM orders WHERE id = $1",
                             "SELECT * FROM invoices WHERE id = $1"));
     },
     "original: not a statement of this database (no entry of pg_stat_statements has its "
     "fingerprint); a rewrite is estimated only for a statement the application runs"},
    {"RewriteSelectInto",
     [](F& f) {
       return f.Sign(Rewrite("cat-rewrite-into", "SELECT * FROM orders WHERE id = $1",
                             "SELECT * INTO orders_copy FROM orders WHERE id = $1"));
     },
     "rewritten: must be a plain SELECT (no INTO, FOR UPDATE or data-modifying WITH)"},
};

class RecommendationCatalogue : public RecommendationFixture {};

TEST_P(RecommendationCatalogue, RefusedWithTheExactReasonAuditedReportedAndNothingRuns) {
  const RecommendationCase& c = GetParam();
  if (c.prepare) {
    c.prepare(*this);
    if (HasFatalFailure()) return;
  }
  const std::string state_before = DatabaseState(*cluster_, db_);
  cluster_->Exec("SELECT pg_stat_statements_reset()");
  const std::string element = c.make(*this);
  const protocol::RecommendationEnvelope envelope = [&] {
    auto list = protocol::ParseRecommendationList(R"({"protocol":"1","recommendations":[)" +
                                                  element + "]}");
    return std::move(list).value().front();
  }();
  ASSERT_FALSE(envelope.id.empty()) << element;
  const std::size_t records_before = audit_->ForRecommendation(envelope.id).size();
  Submit(element);
  const auto event = WaitFinalEvent(envelope.id);
  ASSERT_TRUE(event.has_value()) << "no outcome reported for " << envelope.id;
  const bool unverified = RefusedUnverified(c.name);
  const std::string expected =
      (unverified ? kUnverified : "") + Expand(c.expected, {{"digest", OrdersDigest()}});
  EXPECT_EQ(event->event, "rejected") << event->detail;
  EXPECT_EQ(event->detail, expected);
  for (const std::string& name : Events(envelope.id)) {
    EXPECT_TRUE(name == "validated" || name == "rejected") << name;
  }

  // The audit log has the recommendation as received and the refusal with the same reason, and
  // no step that runs anything.
  auto records = audit_->ForRecommendation(envelope.id);
  records.erase(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(records_before));
  ASSERT_FALSE(records.empty());
  if (unverified) {
    // Only its id, size and the verdict: not one byte of what was sent.
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records.front().database, "");
    EXPECT_EQ(records.front().extra.size(), 1u);
    EXPECT_EQ(std::get<std::int64_t>(records.front().extra.at("bytes")),
              static_cast<std::int64_t>(envelope.raw_json.size()));
  } else {
    EXPECT_EQ(records.front().step, applier::AuditStep::kReceived);
  }
  EXPECT_EQ(records.back().step, applier::AuditStep::kRejected);
  EXPECT_EQ(records.back().detail, expected);
  for (const auto& record : records) {
    EXPECT_TRUE(record.step == applier::AuditStep::kReceived ||
                record.step == applier::AuditStep::kVerified ||
                record.step == applier::AuditStep::kRejected)
        << applier::AuditStepName(record.step);
  }
  EXPECT_TRUE(applier::VerifyAuditFile(dir_.path() + "/audit.jsonl").ok);

  // Nothing changed in PostgreSQL, and nothing that changes things ran.
  EXPECT_EQ(DatabaseState(*cluster_, db_), state_before);
  EXPECT_EQ(ChangingStatements(*cluster_, db_), "0");
  // And the agent's log says so, with the same reason.
  const json warned = FindLog(*logs_, unverified ? "recommendation refused before verification"
                                                 : "recommendation rejected");
  ASSERT_TRUE(warned.is_object());
  EXPECT_EQ(warned.value("level", ""), "warning");
  EXPECT_EQ(warned.contains("reason") ? warned.value("reason", "") : warned.value("detail", ""),
            expected);
}

INSTANTIATE_TEST_SUITE_P(Catalogue, RecommendationCatalogue,
                         ::testing::ValuesIn(kRecommendationCases), CaseName());

// ==============================================================================================
// Family 4: control-plane replies, through libcurl over HTTPS, the ControlPlaneLink, the
// SnapshotSender and the ApplyWorker.

enum class Endpoint { kRegister, kHeartbeat, kSnapshots, kRecommendations };

Endpoint EndpointOf(const std::string& path) {
  if (path.ends_with("/register")) return Endpoint::kRegister;
  if (path.ends_with("/heartbeat")) return Endpoint::kHeartbeat;
  if (path.ends_with("/snapshots")) return Endpoint::kSnapshots;
  return Endpoint::kRecommendations;
}

struct ReplyCase {
  const char* name;
  Endpoint endpoint;                    // the call that gets the bad reply
  std::function<TestResponse()> reply;  // the bad reply
  std::string expected_msg;             // the log line about it ("msg")
  std::string expected_error;           // its "error" field; "{n}" matches a number
  bool quarantined = false;             // the snapshot is refused for good: moved to bad/
};

void PrintTo(const ReplyCase& c, std::ostream* os) { *os << c.name; }

// Whether `actual` is `expected` where each "{n}" stands for one or more digits.
bool MatchesWithNumbers(const std::string& expected, const std::string& actual) {
  std::size_t e = 0;
  std::size_t a = 0;
  while (e < expected.size()) {
    if (expected.compare(e, 3, "{n}") == 0) {
      const std::size_t start = a;
      while (a < actual.size() && std::isdigit(static_cast<unsigned char>(actual[a]))) ++a;
      if (a == start) return false;
      e += 3;
      continue;
    }
    if (a >= actual.size() || actual[a] != expected[e]) return false;
    ++a;
    ++e;
  }
  return a == actual.size();
}

TestResponse Reply(int status, std::string body,
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
  return TestResponse{status, std::move(body), std::move(headers)};
}

const std::string kBadReplyMsg =
    "control plane sent a reply the agent cannot use; snapshots stay in the spool and are sent "
    "when it answers properly";
const std::string kServerErrorMsg =
    "control plane answers with an error; snapshots stay in the spool and are sent when it "
    "recovers";
const std::string kRefusedMsg =
    "control plane refuses the agent: check control_plane.url and the API key; snapshots stay in "
    "the spool";
const std::string kReplyRefusedMsg = "recommendations reply refused";

const ReplyCase kReplyCases[] = {
    {"RegisterReplyNotJson", Endpoint::kRegister,
     [] { return Reply(200, "<html><body>Bad gateway</body></html>"); }, kBadReplyMsg,
     "registration reply: register response is not JSON"},
    {"RegisterReplyEmpty", Endpoint::kRegister, [] { return Reply(200, ""); }, kBadReplyMsg,
     "registration reply: register response is not JSON"},
    {"RegisterReplyOfWrongShape", Endpoint::kRegister, [] { return Reply(200, "[1,2,3]"); },
     kBadReplyMsg, "registration reply: register response is not a JSON object"},
    {"RegisterReplyWithoutProtocol", Endpoint::kRegister,
     [] { return Reply(200, R"({"heartbeat_interval_s":60})"); }, kBadReplyMsg,
     "registration reply: register response has no \"protocol\" string"},
    {"RegisterReplyOfProtocol2", Endpoint::kRegister,
     [] { return Reply(200, R"({"protocol":"2"})"); }, kBadReplyMsg,
     "registration reply: control plane speaks protocol \"2\", this agent speaks 1.0: upgrade the "
     "agent (or point it "
     "at a compatible control plane)"},
    {"RegisterReplyWithZeroInterval", Endpoint::kRegister,
     [] { return Reply(200, R"({"protocol":"1","heartbeat_interval_s":0})"); }, kBadReplyMsg,
     "registration reply: register response: heartbeat_interval_s must be a whole number of "
     "seconds from 1 to 86400"},
    {"RegisterUnauthorized", Endpoint::kRegister,
     [] { return Reply(401, R"({"protocol":"1","error":"unknown api key"})"); }, kRefusedMsg,
     "registration: HTTP 401"},
    {"RegisterRedirect", Endpoint::kRegister,
     [] {
       return Reply(302, "", {{"Location", "https://elsewhere.example/"}});
     },
     kRefusedMsg, "registration: HTTP 302"},
    {"RegisterServerError", Endpoint::kRegister, [] { return Reply(500, "oops"); }, kServerErrorMsg,
     "registration: HTTP 500"},
    {"HeartbeatServerError", Endpoint::kHeartbeat, [] { return Reply(502, "bad gateway"); },
     kServerErrorMsg, "heartbeat: HTTP 502"},
    {"HeartbeatForUnknownAgent", Endpoint::kHeartbeat,
     [] { return Reply(404, R"({"protocol":"1","error":"unknown agent; register first"})"); },
     kServerErrorMsg, "heartbeat: HTTP 404"},
    {"HeartbeatForbidden", Endpoint::kHeartbeat, [] { return Reply(403, "{}"); }, kRefusedMsg,
     "heartbeat: HTTP 403"},
    {"SnapshotServerError", Endpoint::kSnapshots, [] { return Reply(500, "oops"); },
     kServerErrorMsg, "snapshot s1 not delivered (HTTP 500); retrying in {n} ms"},
    {"SnapshotThrottled", Endpoint::kSnapshots,
     [] {
       return Reply(429, "slow down", {{"Retry-After", "1"}});
     },
     kServerErrorMsg, "snapshot s1 not delivered (HTTP 429); retrying in {n} ms"},
    {"SnapshotRefusedForGood", Endpoint::kSnapshots,
     [] { return Reply(400, R"({"protocol":"1","error":"statements[0].calls"})"); }, "",
     "snapshot s1 moved to the spool's bad/ folder: control plane refused it (HTTP 400)", true},
    {"RecommendationsReplyNotJson", Endpoint::kRecommendations,
     [] { return Reply(200, "Service temporarily unavailable"); }, kReplyRefusedMsg,
     "recommendation list is not JSON"},
    {"RecommendationsReplyTruncated", Endpoint::kRecommendations,
     [] { return Reply(200, R"({"protocol":"1","recommendations":[{"id":"cat-cut","kind":)"); },
     kReplyRefusedMsg, "recommendation list is not JSON"},
    {"RecommendationsReplyOfWrongShape", Endpoint::kRecommendations,
     [] { return Reply(200, R"({"protocol":"1","recommendations":{"id":"r"}})"); },
     kReplyRefusedMsg, "recommendation list has no \"recommendations\" array"},
    {"RecommendationsReplyWithoutList", Endpoint::kRecommendations,
     [] { return Reply(200, R"({"protocol":"1"})"); }, kReplyRefusedMsg,
     "recommendation list has no \"recommendations\" array"},
    {"RecommendationsReplyOfProtocol2", Endpoint::kRecommendations,
     [] { return Reply(200, R"({"protocol":"2","recommendations":[]})"); }, kReplyRefusedMsg,
     "control plane speaks protocol \"2\", this agent speaks 1.0: upgrade the agent (or point it "
     "at a compatible control plane)"},
    {"RecommendationsReplyOversized", Endpoint::kRecommendations,
     [] {
       return Reply(200, R"({"protocol":"1","recommendations":[],"pad":")" +
                             std::string(5 << 20, 'x') + "\"}");
     },
     kBadReplyMsg,
     "recommendations: GET https://127.0.0.1:{n}/v1/agents/6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f/"
     "recommendations?status=approved: response body larger than 4 MiB"},
    {"RecommendationsServerError", Endpoint::kRecommendations, [] { return Reply(503, ""); },
     kServerErrorMsg, "recommendations: HTTP 503"},
    {"RecommendationWithoutId", Endpoint::kRecommendations,
     [] { return Reply(200, R"({"protocol":"1","recommendations":[{"kind":"create_index"}]})"); },
     "recommendation without a valid id refused; it cannot be reported to the control plane",
     "recommendation: id: missing"},
    {"RecommendationWithMissingFields", Endpoint::kRecommendations,
     [] { return Reply(200, R"({"protocol":"1","recommendations":[{"id":"cat-partial"}]})"); },
     "recommendation refused before verification",
     "refused before verification: recommendation cat-partial: agent_id: missing"},
};

class ReplyCatalogue : public ::testing::TestWithParam<ReplyCase> {
 protected:
  void SetUp() override {
    cluster_ = &SharedCluster();
    db_ = "reply_" + std::to_string(++counter_);
    cluster_->Exec("CREATE DATABASE " + db_ + " TEMPLATE catalogue_template");
    server_ = TlsTestServer::Start();
    const ReplyCase& c = GetParam();
    server_->SetHandler([this, &c](const RecordedRequest& request) {
      const Endpoint endpoint = EndpointOf(request.path);
      if (request.path.find("/events") != std::string::npos || request.path.ends_with("/audit")) {
        return Reply(202, R"({"protocol":"1"})");
      }
      if (bad_ && endpoint == c.endpoint) {
        ++bad_served_;
        return c.reply();
      }
      switch (endpoint) {
        case Endpoint::kSnapshots:
          return Reply(202, R"({"protocol":"1","stored":true})");
        case Endpoint::kRecommendations:
          return Reply(200, R"({"protocol":"1","recommendations":[]})");
        default:
          return Reply(200, R"({"protocol":"1"})");
      }
    });
    logs_ = CaptureLogs();
    spool_ = std::make_unique<delivery::Spool>(dir_.path() + "/spool");
    ASSERT_TRUE(spool_->Open().ok());
    ASSERT_TRUE(spool_->Append("s1", R"({"snapshot_id":"s1"})").ok());
    audit_ = applier::AuditLog::Open(dir_.path() + "/audit.jsonl", clock_).value();
    Config config;
    config.state_dir = dir_.path();
    config.recommendation_public_key = protocol::GenerateEd25519KeyPair().value().public_key_b64;
    DatabaseConfig shop;
    shop.name = "shop";
    shop.dsn = cluster_->ConnectionString(db_);
    shop.apply = true;
    config.databases = {shop};
    delivery::LinkSettings settings;
    settings.http.base_url = server_->base_url();
    settings.http.ca_file = server_->ca_file();
    settings.http.api_key = "test-key";
    settings.heartbeat_interval = 100ms;
    settings.recommendations_interval = 100ms;
    settings.send_backoff_base = 10ms;
    // The link's sink and the worker's reporter point at each other, as in the daemon.
    worker_ = std::make_unique<ApplyWorker>(config, kAgentId, *audit_,
                                            [this](protocol::RecommendationEvent event) {
                                              std::lock_guard lock(wiring_mu_);
                                              if (link_) link_->ReportEvent(std::move(event));
                                            });
    auto link = std::make_unique<delivery::ControlPlaneLink>(
        settings, kAgentId, "host", *spool_, status_, delivery::MakeCurlHttpClient,
        [this](std::string body, bool rollback_requests) {
          std::lock_guard lock(wiring_mu_);
          if (worker_) worker_->Submit(std::move(body), rollback_requests);
        },
        audit_.get());
    std::lock_guard lock(wiring_mu_);
    link_ = std::move(link);
  }
  void TearDown() override {
    // The link's sink and the worker's reporter point at each other: stop both before either
    // goes away.
    if (link_) {
      link_->RequestStop(std::chrono::steady_clock::now());
      link_->JoinUntil(std::chrono::steady_clock::now() + 30s);
    }
    std::unique_ptr<ApplyWorker> worker;
    std::unique_ptr<delivery::ControlPlaneLink> link;
    {
      std::lock_guard lock(wiring_mu_);
      worker = std::move(worker_);
      link = std::move(link_);
    }
    worker.reset();
    link.reset();
    audit_.reset();
    server_.reset();
    cluster_->Exec("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }

  std::vector<RecordedRequest> Requests(Endpoint endpoint) const {
    std::vector<RecordedRequest> out;
    for (const auto& request : server_->Requests()) {
      if (request.path.find("/events") == std::string::npos && !request.path.ends_with("/audit") &&
          EndpointOf(request.path) == endpoint) {
        out.push_back(request);
      }
    }
    return out;
  }

  static inline int counter_ = 0;
  TempDir dir_;
  SystemClock clock_;
  PgCluster* cluster_ = nullptr;
  std::string db_;
  std::unique_ptr<TlsTestServer> server_;
  std::atomic<bool> bad_{true};
  std::atomic<int> bad_served_{0};
  std::shared_ptr<CaptureSink> logs_;
  std::unique_ptr<delivery::Spool> spool_;
  delivery::AgentStatus status_;
  std::unique_ptr<applier::AuditLog> audit_;
  std::mutex wiring_mu_;
  std::unique_ptr<delivery::ControlPlaneLink> link_;  // guarded by wiring_mu_ while both run
  std::unique_ptr<ApplyWorker> worker_;               // guarded by wiring_mu_ while both run
};

TEST_P(ReplyCatalogue, LoggedRetriedAndNothingLostOrApplied) {
  const ReplyCase& c = GetParam();
  const std::string state_before = DatabaseState(*cluster_, db_);
  // The bad reply is logged with the exact error, and asked for again (retried as designed).
  const int retries = c.quarantined ? 1 : 2;
  ASSERT_TRUE(WaitFor([&] { return bad_served_ >= retries; }, 30s, 10ms))
      << "bad reply served " << bad_served_ << " times";
  json logged;
  const auto matching = [&] {
    for (const json& line : logs_->Lines()) {
      if (!line.is_object()) continue;
      const std::string error = line.contains("error")    ? line.value("error", "")
                                : line.contains("reason") ? line.value("reason", "")
                                                          : line.value("msg", "");
      if ((c.expected_msg.empty() || line.value("msg", "") == c.expected_msg) &&
          MatchesWithNumbers(c.expected_error, error)) {
        logged = line;
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(WaitFor(matching, 10s, 10ms)) << [&] {
    std::string all;
    for (const json& line : logs_->Lines()) all += line.dump() + "\n";
    return all;
  }();

  // A refused recommendation is reported back as `rejected`, with the same reason.
  if (c.expected_msg == "recommendation rejected" ||
      c.expected_msg == "recommendation refused before verification") {
    EXPECT_TRUE(WaitFor(
        [&] {
          for (const auto& request : server_->Requests()) {
            if (!request.path.ends_with("/events")) continue;
            const json event = json::parse(request.body, nullptr, false);
            if (event.is_object() && event.value("event", "") == "rejected" &&
                event.value("detail", "") == c.expected_error) {
              return true;
            }
          }
          return false;
        },
        10s, 10ms));
  }

  // The link keeps running: it answers the watchdog and goes on talking to the control plane.
  const auto alive = link_->AliveAt();
  EXPECT_TRUE(WaitFor([&] { return link_->AliveAt() > alive; }, 10s, 10ms));

  // Nothing is lost: the snapshot is still in the spool (or in bad/ when refused for good) and is
  // delivered, once, when the control plane answers properly again.
  if (c.quarantined) {
    EXPECT_TRUE(WaitFor([&] { return spool_->Depth() == 0; }, 10s, 10ms));
    std::size_t kept = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path() + "/spool/bad")) {
      kept += entry.is_regular_file() ? 1 : 0;
    }
    EXPECT_EQ(kept, 1u);
  } else {
    if (c.endpoint == Endpoint::kRegister || c.endpoint == Endpoint::kSnapshots) {
      EXPECT_EQ(spool_->Depth(), 1u);
    }
    bad_ = false;
    ASSERT_TRUE(WaitFor([&] { return spool_->Depth() == 0; }, 30s, 10ms));
    std::size_t accepted = 0;
    for (const auto& request : Requests(Endpoint::kSnapshots)) {
      accepted +=
          request.headers.count("idempotency-key") && request.headers.at("idempotency-key") == "s1";
    }
    EXPECT_GE(accepted, 1u);
  }

  // No recommendation was applied.
  EXPECT_EQ(DatabaseState(*cluster_, db_), state_before);
  for (const auto& record : audit_->ReadAll()) {
    EXPECT_TRUE(record.step == applier::AuditStep::kReceived ||
                record.step == applier::AuditStep::kRejected)
        << applier::AuditStepName(record.step);
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, ReplyCatalogue, ::testing::ValuesIn(kReplyCases), CaseName());

// ==============================================================================================
// Family 5: requests the reference control plane refuses, sent over HTTPS to the real
// optischema-controlplane by a holder of a valid API key. Beyond the status and the exact
// "error", every row checks that nothing was stored and that the server still answers.

struct RequestCase {
  const char* name;
  std::string route;  // after /v1/agents/{agent_id}/, or "register"
  std::function<std::string()> body;
  bool gzip = false;
  int expected_status;
  std::string expected_error;
};

void PrintTo(const RequestCase& c, std::ostream* os) { *os << c.name; }

std::string Brackets(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// `[{},{},...]` with `count` elements.
std::string EmptyObjectArray(std::size_t count) {
  std::string text = "[";
  for (std::size_t i = 0; i < count; ++i) text += i == 0 ? "{}" : ",{}";
  return text + "]";
}

json RegisterJson(const std::string& agent_id) {
  return json{
      {"protocol", "1.0"},
      {"agent_id", agent_id},
      {"hostname", "h"},
      {"version", "0.1.0"},
      {"databases",
       json::array(
           {{{"name", "orders"}, {"server_version_num", 150004}, {"extensions", json::array()}}})}};
}

const json kHeartbeatJson = {{"protocol", "1.0"},
                             {"status", "ok"},
                             {"uptime_s", 1},
                             {"spool_depth", 0},
                             {"last_collect_at", nullptr},
                             {"recent_errors", json::array()}};

// `object` dumped with its member "x" (a placeholder string) replaced by `raw`.
std::string WithMember(json object, const std::string& raw) {
  object["x"] = "@";
  std::string text = object.dump();
  return text.replace(text.find("\"@\""), 3, raw);
}

const std::string kNested = "body: JSON nested deeper than 64 levels";

const RequestCase kRequestCases[] = {
    {"AuditNestedDeeperThan64Levels", "audit", [] { return "{\"a\":" + Brackets(100'000) + "}"; },
     false, 400, kNested},
    {"RegisterDatabaseNestedDeeperThan64Levels", "register",
     [] {
       json body = RegisterJson("7e1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f");
       body["databases"][0]["x"] = "@";
       std::string text = body.dump();
       return text.replace(text.find("\"@\""), 3, Brackets(100'000));
     },
     false, 400, kNested},
    {"EventDetailNestedDeeperThan64Levels", "recommendations/r-1/events",
     [] {
       return WithMember({{"recommendation_id", "r-1"}, {"event", "applied"}}, Brackets(65));
     },
     false, 400, kNested},
    {"SnapshotNestedDeeperThan64Levels", "snapshots",
     [] {
       return WithMember({{"protocol", "1.0"}}, Brackets(1000));
     },
     true, 400, kNested},
    {"HeartbeatWithMoreThan20000Elements", "heartbeat",
     [] { return WithMember(kHeartbeatJson, EmptyObjectArray(20'000)); }, false, 400,
     "body: more than 20000 JSON elements (array elements and object members)"},
    {"SnapshotWithMoreThanAMillionElements", "snapshots",
     [] {
       return WithMember({{"protocol", "1.0"}}, EmptyObjectArray(1'000'000));
     },
     true, 400, "body: more than 1000000 JSON elements (array elements and object members)"},
    {"HeartbeatLargerThan64KiB", "heartbeat",
     [] { return WithMember(kHeartbeatJson, "\"" + std::string(70'000, 'e') + "\""); }, false, 413,
     "request body larger than 65536 bytes (compressed or decompressed)"},
    {"EventInflatingPast64KiB", "recommendations/r-1/events",
     [] {
       return WithMember({{"recommendation_id", "r-1"}}, "\"" + std::string(1 << 20, 'd') + "\"");
     },
     true, 413, "request body larger than 65536 bytes (compressed or decompressed)"},
    {"RegisterLargerThan256KiB", "register",
     [] {
       return WithMember(RegisterJson("7e1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f"),
                         "\"" + std::string(300'000, 'r') + "\"");
     },
     false, 413, "request body larger than 262144 bytes (compressed or decompressed)"},
};

class RequestCatalogue : public ::testing::TestWithParam<RequestCase> {
 protected:
  static void SetUpTestSuite() {
    server_ = new optischema::testing::ControlPlaneProcess();
    server_->Start();
    key_ = new std::string(server_->CreateApiKey());
    const auto registered = Send("register", RegisterJson(kAgentId).dump(), false);
    ASSERT_TRUE(registered.ok()) << registered.error().message;
    ASSERT_EQ(registered->status, 200) << registered->body;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete key_;
    key_ = nullptr;
  }

  static Result<delivery::HttpResponse> Send(const std::string& route, std::string body,
                                             bool gzip) {
    delivery::HttpClientOptions options;
    options.base_url = server_->base_url();
    options.api_key = *key_;
    options.ca_file = server_->ca_file();
    delivery::HttpRequest request;
    request.method = "POST";
    request.path = route == "register" ? "/v1/agents/register"
                                       : std::string("/v1/agents/") + kAgentId + "/" + route;
    request.body = gzip ? optischema::testing::GzipForTest(body) : std::move(body);
    request.body_is_gzip = gzip;
    return delivery::MakeCurlHttpClient(options)->Send(request);
  }

  static optischema::testing::ControlPlaneProcess* server_;
  static std::string* key_;
};

optischema::testing::ControlPlaneProcess* RequestCatalogue::server_ = nullptr;
std::string* RequestCatalogue::key_ = nullptr;

TEST_P(RequestCatalogue, RefusedWithTheExactReasonNothingStoredAndTheServerAnswers) {
  const RequestCase& c = GetParam();

  const auto response = Send(c.route, c.body(), c.gzip);

  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, c.expected_status) << response->body;
  const json reply = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(reply.is_object()) << response->body;
  EXPECT_EQ(reply.value("error", ""), c.expected_error);
  EXPECT_TRUE(server_->ListSnapshots().empty());
  EXPECT_TRUE(server_->ListAudit().empty());
  const json agents = server_->ListAgents();
  ASSERT_EQ(agents.size(), 1U) << agents.dump();  // only kAgentId, registered by the suite
  EXPECT_EQ(agents[0]["heartbeats"], 0);
  const auto again = Send("register", RegisterJson(kAgentId).dump(), false);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->status, 200);
}

INSTANTIATE_TEST_SUITE_P(Catalogue, RequestCatalogue, ::testing::ValuesIn(kRequestCases),
                         CaseName());

}  // namespace
}  // namespace optischema::agent

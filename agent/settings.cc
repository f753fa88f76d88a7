#include "agent/settings.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/setting_types.h"
#include "applier/maintenance_window.h"
#include "protocol/base64.h"

namespace optischema::agent {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kMaxDatabaseNameLength = 63;

// ----------------------------------------------------------------------------------------------
// Parsers of the values written as strings

std::optional<std::string> AnyString(std::string_view text) { return std::string(text); }

std::optional<std::string> NonEmpty(std::string_view text) {
  if (text.empty()) return std::nullopt;
  return std::string(text);
}

std::optional<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return std::nullopt;
}

std::optional<LogOutput> ParseLogOutput(std::string_view text) {
  if (text == "stderr") return LogOutput::kStderr;
  if (text == "stdout") return LogOutput::kStdout;
  return std::nullopt;
}

std::optional<std::string> ParseLogLevel(std::string_view text) {
  constexpr std::array<std::string_view, 7> kLevels = {"trace", "debug",    "info", "warn",
                                                       "error", "critical", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), text) == kLevels.end()) return std::nullopt;
  return std::string(text);
}

// Accepts "" (no control plane), https:// URLs with a host, and http:// URLs whose host is a
// loopback name, for a control plane reached through a local proxy or tunnel.
std::optional<std::string> ParseControlPlaneUrl(std::string_view url) {
  if (url.empty()) return std::string();
  constexpr std::string_view kHttps = "https://";
  constexpr std::string_view kHttp = "http://";
  const bool https = url.starts_with(kHttps);
  if (!https && !url.starts_with(kHttp)) return std::nullopt;
  std::string_view authority = url.substr(https ? kHttps.size() : kHttp.size());
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close != std::string_view::npos) host = authority.substr(0, close + 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  if (host.empty()) return std::nullopt;
  if (!https && host != "127.0.0.1" && host != "localhost" && host != "[::1]") return std::nullopt;
  return std::string(url);
}

std::optional<SendQueryText> ParseSendQueryText(std::string_view text) {
  if (text == "normalized") return SendQueryText::kNormalized;
  if (text == "none") return SendQueryText::kNone;
  return std::nullopt;
}

// A proxy URL as libcurl takes it: empty (none), or scheme://host[:port] with scheme http, https,
// socks4, socks4a, socks5 or socks5h; no line breaks.
std::optional<std::string> ParseProxyUrl(std::string_view url) {
  if (url.empty()) return std::string();
  for (std::string_view scheme :
       {"http://", "https://", "socks4://", "socks4a://", "socks5://", "socks5h://"}) {
    if (url.starts_with(scheme) && url.size() > scheme.size() &&
        url.find_first_of("\r\n\t ") == std::string_view::npos) {
      return std::string(url);
    }
  }
  return std::nullopt;
}

bool IsDatabaseNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

std::optional<std::string> ParseDatabaseName(std::string_view text) {
  if (text.empty() || text.size() > kMaxDatabaseNameLength) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), IsDatabaseNameChar)) return std::nullopt;
  return std::string(text);
}

// An Ed25519 public key as the control plane prints it: standard base64 of 32 bytes; empty
// (applying off) is accepted. A malformed key would make every recommendation fail to verify.
std::optional<std::string> ParsePublicKey(std::string_view text) {
  constexpr std::size_t kPublicKeyBytes = 32;
  if (text.empty()) return std::string();
  const Result<std::string> bytes = protocol::Base64Decode(text);
  if (!bytes.ok() || bytes->size() != kPublicKeyBytes) return std::nullopt;
  return std::string(text);
}

// A control-plane exchange timeout: a duration from 1 s to 2 min.
std::optional<milliseconds> ParseExchangeTimeout(std::string_view text) {
  const std::optional<milliseconds> value = ParseDuration(text);
  if (!value || *value < std::chrono::seconds(1) || *value > std::chrono::minutes(2)) {
    return std::nullopt;
  }
  return value;
}
// The activity sampler's period: 0 (off), or from 100 ms to 1 min.
std::optional<milliseconds> ParseSampleInterval(std::string_view text) {
  if (text == "0") return milliseconds(0);
  const std::optional<milliseconds> value = ParseDuration(text);
  if (!value || *value < milliseconds(100) || *value > std::chrono::minutes(1)) {
    return std::nullopt;
  }
  return value;
}

// How long a session may sit idle in a transaction before it is reported: 1 s to 24 h.
std::optional<milliseconds> ParseIdleWarn(std::string_view text) {
  const std::optional<milliseconds> value = ParseDuration(text);
  if (!value || *value < std::chrono::seconds(1) || *value > std::chrono::hours(24)) {
    return std::nullopt;
  }
  return value;
}
Status CheckMaintenanceWindow(std::string_view text) {
  const Result<applier::MaintenanceWindow> window =
      applier::ParseMaintenanceWindow(std::string(text));
  if (!window.ok()) return window.error();
  return OkStatus();
}

// ----------------------------------------------------------------------------------------------
// Value types

constexpr TextType<std::string> kString = {"a string", AnyString};
constexpr TextType<std::string> kPath = {"a non-empty path", NonEmpty};
constexpr TextType<milliseconds> kDuration = {R"(a duration like "30s" or "5m")", ParseDuration};
constexpr TextType<milliseconds> kExchangeTimeout = {R"(a duration from "1s" to "2m")",
                                                     ParseExchangeTimeout};
constexpr TextType<milliseconds> kSampleInterval = {
    R"("0" (off) or a duration from "100ms" to "1m")", ParseSampleInterval};
constexpr TextType<milliseconds> kIdleWarn = {R"(a duration from "1s" to "24h")", ParseIdleWarn};
constexpr TextType<LogFormat> kLogFormat = {R"("text" or "json")", ParseLogFormat};
constexpr TextType<LogOutput> kLogOutput = {R"("stderr" or "stdout")", ParseLogOutput};
constexpr TextType<std::string> kLogLevel = {
    "one of trace, debug, info, warn, error, critical, off", ParseLogLevel};
constexpr TextType<std::string> kControlPlaneUrl = {
    "an https:// URL (http:// only for 127.0.0.1, localhost or [::1])", ParseControlPlaneUrl};
constexpr TextType<SendQueryText> kSendQueryText = {R"("normalized" or "none")",
                                                    ParseSendQueryText};
constexpr TextType<std::string> kDatabaseName = {
    "a name of 1 to 63 characters from A-Z a-z 0-9 _ . -", ParseDatabaseName};
constexpr TextType<std::uint64_t> kByteSize = {R"(a size from 64KiB to 1024GiB like "256MiB")",
                                               ParseByteSize};
constexpr TextType<std::string> kProxyUrl = {R"(a proxy URL like "http://proxy:3128")",
                                             ParseProxyUrl, /*may_hold_secret=*/true};
constexpr TextType<std::string> kPublicKey = {
    "an Ed25519 public key, standard base64 of 32 bytes (44 characters) as "
    "`optischema-controlplane keys show` prints it",
    ParsePublicKey};
constexpr IntegerType kStatements = {10, 1000000};
constexpr IntegerType kAdvisorStatements = {1, 1000};
constexpr IntegerType kPlanCost = {0, 1000000000};
constexpr IntegerType kSavingPct = {1, 100};
constexpr IntegerType kIndexSavingPct = {0, 100};
constexpr CheckedTextType kMaintenanceWindow = {CheckMaintenanceWindow};
constexpr BoolType kBool;

// ----------------------------------------------------------------------------------------------
// Entries

// A row for the setting `at(owner)` of value type `type`.
template <class Owner, class At, class Type>
SettingEntry<Owner> Row(SettingInfo info, At at, const Type& type,
                        Special special = Special::kNone) {
  return SettingEntry<Owner>{
      info,
      [at, &type](const RawValue& value, Owner& into) { return ReadValue(value, type, &at(into)); },
      [at](const Owner& a, const Owner& b) { return at(a) == at(b); },
      [at](const Owner& from, Owner& to) { at(to) = at(from); },
      special,
  };
}

#define OPTISCHEMA_AT(member) \
  [](auto& owner) -> auto& { return owner.member; }

std::vector<SettingEntry<Config>> MakeAgentSettings() {
  using L = Lands;
  return {
      // [agent]
      Row<Config>({"agent", "state_dir", "OPTISCHEMA_STATE_DIR", R"("/var/lib/optischema-agent")",
                   L::kNextStart},
                  OPTISCHEMA_AT(state_dir), kPath),
      Row<Config>({"agent", "interval", "OPTISCHEMA_INTERVAL", R"("30s")", L::kDatabaseWorker},
                  OPTISCHEMA_AT(interval), kDuration),
      Row<Config>(
          {"agent", "heartbeat_interval", "OPTISCHEMA_HEARTBEAT_INTERVAL", R"("60s")", L::kLink},
          OPTISCHEMA_AT(heartbeat_interval), kDuration),
      Row<Config>(
          {"agent", "spool_max_bytes", "OPTISCHEMA_SPOOL_MAX_BYTES", R"("256MiB")", L::kNextStart},
          OPTISCHEMA_AT(spool_max_bytes), kByteSize),
      Row<Config>({"agent", "log_format", "OPTISCHEMA_LOG_FORMAT", R"("text")", L::kLogging},
                  OPTISCHEMA_AT(log_format), kLogFormat),
      Row<Config>({"agent", "log_level", "OPTISCHEMA_LOG_LEVEL", R"("info")", L::kLogging},
                  OPTISCHEMA_AT(log_level), kLogLevel),
      Row<Config>({"agent", "log_output", "OPTISCHEMA_LOG_OUTPUT", R"("stderr")", L::kNextStart},
                  OPTISCHEMA_AT(log_output), kLogOutput),
      // [control_plane]
      Row<Config>({"control_plane", "url", "OPTISCHEMA_CONTROL_PLANE_URL", R"("")", L::kLink},
                  OPTISCHEMA_AT(control_plane_url), kControlPlaneUrl),
      Row<Config>({"control_plane", "api_key", "OPTISCHEMA_API_KEY", R"("")", L::kLink},
                  OPTISCHEMA_AT(api_key), kString, Special::kApiKeySource),
      Row<Config>({"control_plane", "api_key_file", "OPTISCHEMA_API_KEY_FILE", R"("")", L::kLink},
                  OPTISCHEMA_AT(api_key_file), kString, Special::kApiKeySource),
      Row<Config>({"control_plane", "ca_file", "OPTISCHEMA_CA_FILE", R"("")", L::kLink},
                  OPTISCHEMA_AT(ca_file), kString),
      Row<Config>({"control_plane", "proxy", "OPTISCHEMA_PROXY", R"("")", L::kLink},
                  OPTISCHEMA_AT(proxy), kProxyUrl),
      Row<Config>({"control_plane", "recommendation_public_key", "", R"("")", L::kLink},
                  OPTISCHEMA_AT(recommendation_public_key), kPublicKey),
      Row<Config>({"control_plane", "recommendations_interval",
                   "OPTISCHEMA_RECOMMENDATIONS_INTERVAL", R"("5m")", L::kLink},
                  OPTISCHEMA_AT(recommendations_interval), kDuration),
      Row<Config>(
          {"control_plane", "timeout", "OPTISCHEMA_CONTROL_PLANE_TIMEOUT", R"("60s")", L::kLink},
          OPTISCHEMA_AT(control_plane_timeout), kExchangeTimeout),
      // [collector]
      Row<Config>({"collector", "max_statements_per_snapshot", "OPTISCHEMA_MAX_STATEMENTS", "5000",
                   L::kDatabaseWorker},
                  OPTISCHEMA_AT(max_statements_per_snapshot), kStatements),
      Row<Config>({"collector", "send_query_text", "OPTISCHEMA_SEND_QUERY_TEXT", R"("normalized")",
                   L::kDatabaseWorker},
                  OPTISCHEMA_AT(send_query_text), kSendQueryText),
      Row<Config>({"collector", "text_refresh_interval", "", R"("5m")", L::kDatabaseWorker},
                  OPTISCHEMA_AT(text_refresh_interval), kDuration),
      Row<Config>({"collector", "activity_sample_interval", "OPTISCHEMA_ACTIVITY_SAMPLE_INTERVAL",
                   R"("1s")", L::kDatabaseWorker},
                  OPTISCHEMA_AT(activity_sample_interval), kSampleInterval),
      Row<Config>({"collector", "idle_in_transaction_warn", "", R"("60s")", L::kDatabaseWorker},
                  OPTISCHEMA_AT(idle_in_transaction_warn), kIdleWarn),
      // [advisor]
      Row<Config>({"advisor", "enabled", "", "true", L::kDatabaseWorker},
                  OPTISCHEMA_AT(advisor.enabled), kBool),
      Row<Config>(
          {"advisor", "interval", "OPTISCHEMA_ADVISOR_INTERVAL", R"("15m")", L::kDatabaseWorker},
          OPTISCHEMA_AT(advisor.interval), kDuration),
      Row<Config>({"advisor", "unused_min_size", "", R"("10MiB")", L::kDatabaseWorker},
                  OPTISCHEMA_AT(advisor.unused_min_size), kByteSize),
      Row<Config>({"advisor", "unused_min_stats_age", "", R"("7d")", L::kDatabaseWorker},
                  OPTISCHEMA_AT(advisor.unused_min_stats_age), kDuration),
      Row<Config>({"advisor", "max_statements", "", "20", L::kDatabaseWorker},
                  OPTISCHEMA_AT(advisor.max_statements), kAdvisorStatements),
      Row<Config>({"advisor", "min_plan_cost", "", "100", L::kDatabaseWorker},
                  OPTISCHEMA_AT(advisor.min_plan_cost), kPlanCost),
      Row<Config>({"advisor", "min_saving_pct", "", "50", L::kDatabaseWorker},
                  OPTISCHEMA_AT(advisor.min_saving_pct), kSavingPct),
      Row<Config>({"advisor", "min_saving_pct_two_column", "", "70", L::kDatabaseWorker},
                  OPTISCHEMA_AT(advisor.min_saving_pct_two_column), kSavingPct),
      Row<Config>({"advisor", "propose_drops", "", "true", L::kDatabaseWorker},
                  OPTISCHEMA_AT(advisor.propose_drops), kBool),
  };
}

std::vector<SettingEntry<DatabaseConfig>> MakeDatabaseSettings() {
  using L = Lands;
  return {
      Row<DatabaseConfig>({"database", "name", "", "", L::kDatabaseWorker}, OPTISCHEMA_AT(name),
                          kDatabaseName),
      Row<DatabaseConfig>(
          {"database", "dsn", "OPTISCHEMA_DATABASE_URL", R"("")", L::kDatabaseWorker},
          OPTISCHEMA_AT(dsn), kString, Special::kDefaultDatabase),
      Row<DatabaseConfig>({"database", "password_file", "OPTISCHEMA_DATABASE_PASSWORD_FILE",
                           R"("")", L::kDatabaseWorker},
                          OPTISCHEMA_AT(password_file), kString, Special::kDefaultDatabase),
      Row<DatabaseConfig>({"database", "apply", "", "false", L::kNextStart}, OPTISCHEMA_AT(apply),
                          kBool),
      Row<DatabaseConfig>({"database", "maintenance_window", "", R"("")", L::kNextStart},
                          OPTISCHEMA_AT(maintenance_window), kMaintenanceWindow),
      Row<DatabaseConfig>({"database", "apply_statement_timeout", "", R"("6h")", L::kNextStart},
                          OPTISCHEMA_AT(apply_statement_timeout), kDuration),
      Row<DatabaseConfig>({"database", "min_index_saving_pct", "", "10", L::kNextStart},
                          OPTISCHEMA_AT(min_index_saving_pct), kIndexSavingPct),
  };
}

#undef OPTISCHEMA_AT

std::vector<SettingInfo> MakeInfos() {
  std::vector<SettingInfo> infos;
  for (const auto& entry : AgentSettings()) infos.push_back(entry.info);
  for (const auto& entry : DatabaseSettings()) infos.push_back(entry.info);
  return infos;
}

}  // namespace

const std::vector<SettingEntry<Config>>& AgentSettings() {
  static const std::vector<SettingEntry<Config>> settings = MakeAgentSettings();
  return settings;
}

const std::vector<SettingEntry<DatabaseConfig>>& DatabaseSettings() {
  static const std::vector<SettingEntry<DatabaseConfig>> settings = MakeDatabaseSettings();
  return settings;
}

std::span<const SettingInfo> Settings() {
  static const std::vector<SettingInfo> infos = MakeInfos();
  return infos;
}

bool SameSettings(Lands lands, const Config& ca, const DatabaseConfig& da, const Config& cb,
                  const DatabaseConfig& db) {
  const bool agent_same = std::all_of(
      AgentSettings().begin(), AgentSettings().end(),
      [&](const auto& entry) { return entry.info.lands != lands || entry.same(ca, cb); });
  return agent_same &&
         std::all_of(DatabaseSettings().begin(), DatabaseSettings().end(), [&](const auto& entry) {
           return entry.info.lands != lands || entry.same(da, db);
         });
}

std::string KeepNextStartSettings(const Config& running, Config& fresh) {
  std::vector<std::string> changed;
  for (const SettingEntry<Config>& row : AgentSettings()) {
    if (row.info.lands != Lands::kNextStart || row.same(running, fresh)) continue;
    changed.push_back(std::string(row.info.section) + "." + std::string(row.info.key));
    row.copy(running, fresh);
  }
  std::string names;
  for (std::size_t i = 0; i < changed.size(); ++i) {
    if (i > 0) names += i + 1 == changed.size() ? " and " : ", ";
    names += changed[i];
  }
  return names;
}

bool SameSetting(std::size_t index, const Config& a, const Config& b) {
  const std::size_t agent_count = AgentSettings().size();
  if (index < agent_count) return AgentSettings()[index].same(a, b);
  if (a.databases.empty() || b.databases.empty()) return false;
  return DatabaseSettings().at(index - agent_count).same(a.databases[0], b.databases[0]);
}

}  // namespace optischema::agent

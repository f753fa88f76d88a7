#include "agent/database_connector.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "core/file_io.h"

namespace optischema::agent {

Result<std::string> ReadPasswordFile(const std::string& path) {
  Result<std::string> content = ReadWholeFile(path);
  if (!content.ok()) {
    return MakeError(ErrorCode::kConfig,
                     "password_file " + path + ": cannot read: " + content.error().message);
  }
  std::string pw = std::move(*content);
  while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
  return pw;
}

std::vector<std::string> SecretsOf(const Config& config) {
  std::vector<std::string> secrets;
  if (!config.api_key.empty()) secrets.push_back(config.api_key);
  for (const DatabaseConfig& database : config.databases) {
    if (!database.password_file.empty()) {
      if (auto password = ReadPasswordFile(database.password_file);
          password.ok() && !password->empty()) {
        secrets.push_back(std::move(password).value());
      }
    }
    if (std::optional<std::string> password = pg::DsnPassword(database.dsn)) {
      secrets.push_back(std::move(*password));
    }
  }
  return secrets;
}

collector::SessionFactory MakeSessionFactory(const DatabaseConfig& database, pg::SessionMode mode) {
  return [database, mode]() -> Result<std::unique_ptr<pg::PgSession>> {
    pg::ConnectOptions options;
    options.dsn = database.dsn;
    options.mode = mode;
    options.apply_statement_timeout_s = static_cast<int>(std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(database.apply_statement_timeout)
               .count()));
    if (!database.password_file.empty()) {
      auto pw = ReadPasswordFile(database.password_file);
      RETURN_IF_ERROR(pw);
      options.password = std::move(pw).value();
    }
    return pg::ConnectLibpq(options);
  };
}

collector::CollectorOptions MakeCollectorOptions(const Config& config,
                                                 const DatabaseConfig& database) {
  collector::CollectorOptions o;
  o.database_name = database.name;
  o.max_statements_per_snapshot = static_cast<std::size_t>(config.max_statements_per_snapshot);
  o.send_text = config.send_query_text == SendQueryText::kNormalized;
  o.text_refresh_interval = config.text_refresh_interval;
  o.activity_sample_interval = config.activity_sample_interval;
  o.idle_in_transaction_warn = config.idle_in_transaction_warn;
  return o;
}

advisor::AdvisorOptions MakeAdvisorOptions(const Config& config, const DatabaseConfig& database) {
  const AdvisorConfig& c = config.advisor;
  advisor::AdvisorOptions options;
  options.findings.unused_min_bytes = static_cast<int64_t>(c.unused_min_size);
  options.findings.unused_min_stats_age_s =
      std::chrono::duration<double>(c.unused_min_stats_age).count();
  options.proposer.database = database.name;
  options.proposer.max_statements = c.max_statements;
  options.proposer.min_plan_cost = c.min_plan_cost;
  options.proposer.min_saving_pct = c.min_saving_pct;
  options.proposer.min_saving_pct_two_column = c.min_saving_pct_two_column;
  options.propose_drops = c.propose_drops;
  return options;
}

}  // namespace optischema::agent

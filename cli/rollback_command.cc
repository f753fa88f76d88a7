#include "cli/rollback_command.h"

#include <ostream>

#include "agent/database_connector.h"
#include "agent/state_dir.h"
#include "applier/audit_log.h"
#include "applier/executor.h"
#include "core/clock.h"

namespace optischema::cli {

int RunRollback(const agent::Config& config, const std::string& recommendation_id,
                std::ostream& out, std::ostream& err) {
  SystemClock clock;
  auto audit = applier::AuditLog::Open(agent::StateDir(config.state_dir).AuditLogFile(), clock);
  if (!audit.ok()) {
    err << "optischema-agent: " << audit.error().message << "\n";
    return 1;
  }
  const auto records = (*audit)->ForRecommendation(recommendation_id);
  if (records.empty() || !(*audit)->Applied(recommendation_id)) {
    err << "optischema-agent: recommendation " << recommendation_id
        << " has no applied change to roll back (see `optischema-agent audit list`)\n";
    return 2;
  }
  const std::string database = records.back().database;
  const agent::DatabaseConfig* target = nullptr;
  for (const agent::DatabaseConfig& db : config.databases) {
    if (db.name == database && db.apply) target = &db;
  }
  if (target == nullptr) {
    err << "optischema-agent: database " << database
        << " is not configured with apply = true; cannot roll back there\n";
    return 2;
  }
  auto session = agent::MakeSessionFactory(*target, pg::SessionMode::kApply)();
  if (!session.ok()) {
    err << "optischema-agent: " << session.error().message << "\n";
    return 1;
  }
  applier::Executor executor(std::move(session).value(), **audit, database);
  if (Status undone = executor.Rollback(recommendation_id); !undone.ok()) {
    err << "optischema-agent: rollback of " << recommendation_id
        << " failed: " << undone.error().message << "\n";
    return 1;
  }
  out << "rolled back " << recommendation_id << " on database " << database << "\n";
  return 0;
}

}  // namespace optischema::cli

#include "cli/advise_command.h"

#include <ostream>

#include "advisor/advisor.h"
#include "agent/advisor_history.h"
#include "agent/database_connector.h"
#include "agent/state_dir.h"
#include "cli/activity_table.h"
#include "cli/advice_table.h"
#include "cli/plan_tree.h"
#include "collector/activity_window.h"
#include "core/clock.h"
#include "protocol/activity_json.h"
#include "protocol/advice_json.h"

namespace optischema::cli {

int RunAdvise(const agent::Config& config, const AdviseCommandOptions& options, std::ostream& out,
              std::ostream& err) {
  const SystemClock clock;
  int status = 0;
  bool matched = false;
  bool plan_found = false;
  std::string json = "[";
  // The daemon's key, so that digests match the ones it sends; made here when missing. Without
  // it no digest is computed (never an unkeyed one).
  auto digest_key = agent::LoadOrCreateDigestKey(config.state_dir);
  if (!digest_key.ok()) {
    err << "table digests not computed: " << digest_key.error().message << "\n";
  }
  for (const agent::DatabaseConfig& db : config.databases) {
    if (!options.database.empty() && db.name != options.database) continue;
    matched = true;
    auto session = agent::MakeSessionFactory(db)();
    if (!session.ok()) {
      err << "database \"" << db.name << "\": " << session.error().ToString() << "\n";
      status = 1;
      continue;
    }
    advisor::AdvisorOptions advisor_options = agent::MakeAdvisorOptions(config, db);
    if (digest_key.ok()) advisor_options.digest_key = *digest_key;
    advisor::Advisor advisor(std::move(advisor_options), clock);
    // The daemon's watch history, when it ran here: new indexes are then judged as it does.
    if (auto history = agent::LoadAdvisorHistory(config.state_dir, db.name);
        history.ok() && !history->empty()) {
      advisor.LoadHistory(std::move(history).value());
    }
    auto advice = advisor.Run(**session);
    if (!advice.ok()) {
      err << "database \"" << db.name << "\": " << advice.error().ToString() << "\n";
      status = 1;
      continue;
    }
    if (options.plan_queryid) {
      if (const protocol::StatementPlan* plan = FindPlan(*advice, *options.plan_queryid)) {
        plan_found = true;
        if (options.format == OutputFormat::kJson) {
          json += (json.size() > 1 ? "," : "") + StatementPlanJson(db.name, *plan);
        } else {
          out << FormatStatementPlan(db.name, *plan) << "\n";
        }
      } else {
        err << PlanNotFound(db.name, *advice, *options.plan_queryid) << "\n";
      }
      continue;
    }
    // Blocking chains and long idle transactions right now, from one sample of the sessions.
    auto activity = collector::ActivityNow(
        **session,
        std::chrono::duration_cast<std::chrono::seconds>(config.idle_in_transaction_warn).count());
    if (!activity.ok()) {
      err << "database \"" << db.name << "\": sessions not read: " << activity.error().ToString()
          << "\n";
    }
    if (options.format == OutputFormat::kJson) {
      if (json.size() > 1) json += ",";
      protocol::JsonWriter w(json);
      w.BeginObject();
      w.PlainKey("database");
      w.String(db.name);
      protocol::WriteAdviceMembers(w, *advice);
      if (activity.ok()) {
        w.PlainKey("sessions_now");
        protocol::WriteActivity(w, *activity);
      }
      w.EndObject();
    } else {
      out << FormatAdviceTable(db.name, *advice) << "\n";
      if (activity.ok()) out << FormatSessionFindings(*activity) << "\n";
    }
  }
  if (!matched) {
    err << "no configured database is named \"" << options.database << "\"; configured:";
    for (const auto& db : config.databases) err << " " << db.name;
    err << "\n";
    return 2;
  }
  if (options.format == OutputFormat::kJson) out << json << "]\n";
  if (options.plan_queryid && !plan_found) status = 1;
  return status;
}

}  // namespace optischema::cli

#include "cli/collect_command.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>
#include <vector>

#include "agent/database_connector.h"
#include "cli/snapshot_table.h"
#include "collector/collector.h"
#include "core/clock.h"
#include "protocol/snapshot_json.h"

namespace optischema::cli {

namespace {

struct Target {
  const agent::DatabaseConfig* config;
  std::unique_ptr<collector::Collector> collector;
  bool failed = false;
};

void Report(std::ostream& err, const std::string& database, const Error& e) {
  err << "database \"" << database << "\": " << e.ToString() << "\n";
}

}  // namespace

int RunCollectDryRun(const agent::Config& config, const CollectCommandOptions& options,
                     std::ostream& out, std::ostream& err) {
  SystemClock clock;
  std::vector<Target> targets;
  for (const auto& db : config.databases) {
    if (!options.database.empty() && db.name != options.database) continue;
    targets.push_back(
        {&db, std::make_unique<collector::Collector>(agent::MakeCollectorOptions(config, db),
                                                     agent::MakeSessionFactory(db), clock)});
  }
  if (targets.empty()) {
    err << "no configured database is named \"" << options.database << "\"; configured:";
    for (const auto& db : config.databases) err << " " << db.name;
    err << "\n";
    return 2;
  }

  for (auto& t : targets) {
    auto baseline = t.collector->Collect();
    if (!baseline.ok()) {
      Report(err, t.config->name, baseline.error());
      t.failed = true;
    }
  }
  // The window, with activity samples at the configured pace.
  const auto end = std::chrono::steady_clock::now() + options.window;
  const auto sample_every = config.activity_sample_interval;
  while (std::chrono::steady_clock::now() < end) {
    auto pause = end - std::chrono::steady_clock::now();
    if (sample_every.count() > 0) {
      pause = std::min<std::chrono::steady_clock::duration>(pause, sample_every);
    }
    std::this_thread::sleep_for(pause);
    if (sample_every.count() == 0) continue;
    for (auto& t : targets) {
      if (!t.failed) (void)t.collector->SampleActivity();  // a failed sample costs only itself
    }
  }

  nlohmann::json documents = nlohmann::json::array();
  int status = 0;
  for (auto& t : targets) {
    if (t.failed) {
      status = 1;
      continue;
    }
    auto snap = t.collector->Collect();
    if (!snap.ok() || !snap->has_value()) {
      // A reconnect between the readings makes the second one a new baseline.
      Report(err, t.config->name,
             snap.ok() ? MakeError(ErrorCode::kConnectionLost,
                                   "connection was re-established during the window; try again")
                       : snap.error());
      status = 1;
      continue;
    }
    const protocol::Snapshot& s = **snap;
    if (options.format == OutputFormat::kTable) {
      out << FormatSnapshotTable(s) << "\n";
    } else {
      documents.push_back(nlohmann::json::parse(protocol::SnapshotToJson(s)));
    }
  }
  if (options.format == OutputFormat::kJson && !documents.empty()) {
    out << (documents.size() == 1 ? documents[0] : documents)
               .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
  }
  return status;
}

}  // namespace optischema::cli

// optischema-agent: parse the command line, load the configuration, run the command.

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "agent/config.h"
#include "agent/daemon.h"
#include "agent/database_connector.h"
#include "agent/health_file.h"
#include "agent/service_notifier.h"
#include "cli/advise_command.h"
#include "cli/audit_command.h"
#include "cli/check_command.h"
#include "cli/collect_command.h"
#include "cli/rollback_command.h"
#include "core/logging.h"
#include "core/version.h"

namespace {

constexpr int kExitConfig = 2;

}  // namespace

int main(int argc, char** argv) {
  using namespace optischema;
  CLI::App app{"optischema-agent: PostgreSQL query optimization agent"};
  app.require_subcommand(0, 1);
  std::string config_path;
  app.add_option("--config", config_path, "configuration file (default: $OPTISCHEMA_CONFIG)");

  app.add_subcommand("version", "print the agent version");
  app.add_subcommand(
      "run", "run the agent: collect every interval and deliver to the control plane (default)");

  auto* collect = app.add_subcommand("collect", "take one snapshot and print it");
  bool dry_run = false;
  int window_s = 10;
  std::string database;
  std::string format = "table";
  collect->add_flag("--dry-run", dry_run, "print the snapshot instead of sending it (required)");
  collect->add_option("--window", window_s, "seconds between the two readings")
      ->check(CLI::Range(1, 3600));
  collect->add_option("--database", database, "only this configured database");
  collect->add_option("--format", format, "json or table")->check(CLI::IsMember({"json", "table"}));

  auto* check = app.add_subcommand(
      "check",
      "verify the configuration, databases and control plane: OK, WARN or FAIL with the fix "
      "(exit 1 on any FAIL)");
  std::string check_format = "text";
  check->add_option("--format", check_format, "text or json")
      ->check(CLI::IsMember({"json", "text"}));

  app.add_subcommand("health",
                     "exit 0 when the running agent's main loop and last reading are recent (for "
                     "container health checks and monitoring)");

  auto* advise = app.add_subcommand(
      "advise", "print index findings and proposals for each database (read-only, sends nothing)");
  std::string advise_database;
  std::string advise_format = "table";
  advise->add_option("--database", advise_database, "only this configured database");
  advise->add_option("--format", advise_format, "json or table")
      ->check(CLI::IsMember({"json", "table"}));
  std::optional<int64_t> advise_plan;
  advise->add_option("--plan", advise_plan,
                     "print the plan of this statement (its queryid): the generic plan, anonymized");

  auto* audit = app.add_subcommand("audit", "the local audit log of applied changes");
  audit->require_subcommand(1);
  auto* audit_list = audit->add_subcommand("list", "print the audit records");
  bool audit_json = false;
  audit_list->add_flag("--json", audit_json, "a JSON array of the records as stored");
  audit->add_subcommand("verify", "check the audit log's hash chain (exit 1 if broken)");

  auto* rollback = app.add_subcommand(
      "rollback", "undo an applied recommendation (run while the agent is stopped)");
  std::string rollback_id;
  rollback->add_option("ID", rollback_id, "recommendation id")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitConfig;
  }

  if (app.got_subcommand("version")) {
    std::cout << "optischema-agent " << kAgentVersion << "\n";
    return 0;
  }

  if (check->parsed()) {
    const auto items =
        cli::RunChecks(config_path, agent::ProcessEnv(), delivery::MakeCurlHttpClient);
    return cli::PrintChecks(
        items, check_format == "json" ? cli::OutputFormat::kJson : cli::OutputFormat::kTable,
        std::cout);
  }

  auto config = agent::LoadConfig(config_path, agent::ProcessEnv());
  if (!config.ok()) {
    std::cerr << "optischema-agent: " << config.error().message << "\n";
    return kExitConfig;
  }
  // Only the daemon logs to stdout when asked: the other commands print their results there.
  const bool daemon = app.get_subcommands().empty() || app.got_subcommand("run");
  if (Status st = SetupLogging(config->log_format, config->log_level, agent::SecretsOf(*config),
                               nullptr, daemon ? config->log_output : LogOutput::kStderr);
      !st.ok()) {
    std::cerr << "optischema-agent: " << st.error().message << "\n";
    return kExitConfig;
  }

  if (app.got_subcommand("health")) return agent::RunHealth(config->state_dir, std::cout);
  if (audit->parsed()) {
    if (audit_list->parsed()) {
      return cli::RunAuditList(config->state_dir, audit_json, std::cout, std::cerr);
    }
    return cli::RunAuditVerify(config->state_dir, std::cout, std::cerr);
  }
  if (advise->parsed()) {
    cli::AdviseCommandOptions options;
    options.database = advise_database;
    options.format = advise_format == "json" ? cli::OutputFormat::kJson : cli::OutputFormat::kTable;
    options.plan_queryid = advise_plan;
    return cli::RunAdvise(*config, options, std::cout, std::cerr);
  }
  if (rollback->parsed()) return cli::RunRollback(*config, rollback_id, std::cout, std::cerr);

  if (collect->parsed()) {
    if (!dry_run) {
      std::cerr << "optischema-agent: collect needs --dry-run (it prints the snapshot and sends "
                   "nothing)\n";
      return kExitConfig;
    }
    cli::CollectCommandOptions options;
    options.window = std::chrono::seconds(window_s);
    options.database = database;
    options.format = format == "json" ? cli::OutputFormat::kJson : cli::OutputFormat::kTable;
    return cli::RunCollectDryRun(*config, options, std::cout, std::cerr);
  }
  // `run`, and no subcommand at all, run the daemon.
  const auto notifier = agent::MakeSystemdNotifier();
  return agent::RunDaemon(std::move(config).value(), {config_path, agent::ProcessEnv()}, *notifier);
}

// optischema-controlplane: the reference control plane of protocol v1. Parses the command line,
// sets up logging and runs one command.

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/admin_commands.h"
#include "controlplane/recommendation_commands.h"
#include "controlplane/serve_command.h"
#include "controlplane/user_commands.h"
#include "protocol/recommendation.h"

namespace {

constexpr int kExitUsage = 2;
constexpr int kMaxIntervalSeconds = 86400;

// Log lines on stderr: UTC time, level, message.
void SetUpLogging() {
  auto logger = spdlog::stderr_logger_mt("optischema-controlplane");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
}

void AddIntervalOption(CLI::App& command, const std::string& name, std::optional<int>& value,
                       const std::string& what) {
  command.add_option(name, value, "ask agents to " + what + " every N seconds (default: absent)")
      ->check(CLI::Range(1, kMaxIntervalSeconds));
}

// Every recommendation kind's name, for --require-second-approver.
std::vector<std::string> KindNames() {
  std::vector<std::string> names;
  for (std::string_view name : optischema::protocol::RecommendationKindNames()) {
    names.emplace_back(name);
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace optischema::controlplane;
  // Everything the control plane writes is for its own user only (data_directory.h).
  ::umask(077);
  CLI::App app{"optischema-controlplane: reference control plane for optischema-agent"};
  app.require_subcommand(1);

  ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "serve protocol v1 over HTTPS");
  serve_cmd->add_option("--listen", serve.listen, "HOST:PORT to listen on")->required();
  serve_cmd->add_option("--data", serve.data_dir, "data directory (made mode 0700, files 0600)")
      ->required();
  serve_cmd->add_option("--tls-cert", serve.cert_file, "PEM certificate chain")->required();
  serve_cmd->add_option("--tls-key", serve.key_file, "PEM private key")->required();
  serve_cmd
      ->add_option("--max-body-bytes", serve.api.max_body_bytes,
                   "largest request body (snapshots), compressed or decompressed; caps the "
                   "smaller bounds of the other routes (default 32 MiB)")
      ->check(CLI::Range(std::size_t{1}, kMaxBodyBytesOption));
  serve_cmd
      ->add_option("--max-inflight-bytes", serve.max_inflight_bytes,
                   "request memory all requests in flight may hold; past it, 503 with "
                   "Retry-After (default 256 MiB)")
      ->check(CLI::Range(std::size_t{1}, std::numeric_limits<std::size_t>::max()));
  serve_cmd
      ->add_option("--retention-days", serve.retention.snapshots,
                   "delete heartbeats and snapshots received more than N days ago, at start and "
                   "hourly; 0 keeps them (default 30)")
      ->check(CLI::Range(0, kMaxRetentionDays));
  serve_cmd
      ->add_option("--history-days", serve.retention.history,
                   "keep the console's hourly history of statements and databases for N days; "
                   "0 keeps it (default 14)")
      ->check(CLI::Range(0, kMaxRetentionDays));
  serve_cmd
      ->add_option("--require-second-approver", serve.console.approval.second_approver_kinds,
                   "kinds (comma-separated, e.g. drop_index,set_config) signed only after "
                   "a second, different approver confirms them in the console")
      ->delimiter(',')
      ->check(CLI::IsMember(KindNames()));
  serve_cmd->add_option("--chart-js", serve.chart_js_path,
                        "Chart.js file the console serves (default: Debian's libjs-chart.js)");
  AddIntervalOption(*serve_cmd, "--snapshot-interval-s", serve.api.snapshot_interval_s,
                    "send a snapshot");
  AddIntervalOption(*serve_cmd, "--heartbeat-interval-s", serve.api.heartbeat_interval_s,
                    "send a heartbeat");
  AddIntervalOption(*serve_cmd, "--recommendations-interval-s",
                    serve.api.recommendations_interval_s, "poll for recommendations");

  std::string data_dir;
  bool json = false;
  auto* keys_cmd = app.add_subcommand("api-keys", "manage API keys")->require_subcommand(1);
  std::string key_name = "default";
  auto* create_cmd = keys_cmd->add_subcommand("create", "create a key; prints it as the last line");
  create_cmd->add_option("--data", data_dir, "data directory")->required();
  create_cmd->add_option("--name", key_name, "a name to recognise the key by");

  auto* agents_cmd = app.add_subcommand("agents", "registered agents")->require_subcommand(1);
  auto* agents_list = agents_cmd->add_subcommand("list", "list registered agents");
  agents_list->add_option("--data", data_dir, "data directory")->required();
  agents_list->add_flag("--json", json, "print a JSON array");

  SnapshotsListOptions snapshots;
  auto* snapshots_cmd =
      app.add_subcommand("snapshots", "received snapshots")->require_subcommand(1);
  auto* snapshots_list = snapshots_cmd->add_subcommand("list", "list snapshots in arrival order");
  snapshots_list->add_option("--data", snapshots.data_dir, "data directory")->required();
  snapshots_list->add_flag("--json", snapshots.json, "print a JSON array, bodies included");
  snapshots_list->add_option("--agent", snapshots.agent_id, "only this agent id");
  snapshots_list->add_option("--database", snapshots.database, "only this database name");

  AuditListOptions audit;
  auto* audit_cmd = app.add_subcommand("audit", "audit records from agents")->require_subcommand(1);
  auto* audit_list = audit_cmd->add_subcommand("list", "list audit records in arrival order");
  audit_list->add_option("--data", audit.data_dir, "data directory")->required();
  audit_list->add_flag("--json", audit.json, "print a JSON array");
  audit_list->add_option("--agent", audit.agent_id, "only this agent id");

  bool force = false;
  auto* signing_cmd =
      app.add_subcommand("keys", "the key that signs recommendations")->require_subcommand(1);
  auto* keys_init = signing_cmd->add_subcommand(
      "init", "create the signing key; prints the public key as the last line");
  keys_init->add_option("--data", data_dir, "data directory")->required();
  keys_init->add_flag("--force", force,
                      "replace an existing key (what it approved no longer verifies)");
  auto* keys_show = signing_cmd->add_subcommand("show", "print the public key");
  keys_show->add_option("--data", data_dir, "data directory")->required();

  std::string file;
  auto* recommend_cmd = app.add_subcommand(
      "recommend", "propose a recommendation from a JSON file; prints its id as the last line");
  recommend_cmd->add_option("--data", data_dir, "data directory")->required();
  recommend_cmd->add_option("--file", file, "the proposal (JSON)")->required();

  std::string id;
  std::string approver = DefaultApprover();
  auto* approve_cmd = app.add_subcommand("approve", "approve and sign a proposed recommendation");
  approve_cmd->add_option("--data", data_dir, "data directory")->required();
  approve_cmd->add_option("id", id, "recommendation id")->required();
  approve_cmd->add_option("--by", approver, "who approves (default: $USER, or admin)");

  auto* rollback_cmd =
      app.add_subcommand("rollback", "ask the agent to roll back an applied recommendation");
  rollback_cmd->add_option("--data", data_dir, "data directory")->required();
  rollback_cmd->add_option("id", id, "recommendation id")->required();

  RecommendationsListOptions recommendations;
  auto* recommendations_cmd =
      app.add_subcommand("recommendations", "recommendations")->require_subcommand(1);
  auto* recommendations_list =
      recommendations_cmd->add_subcommand("list", "list recommendations, oldest first");
  recommendations_list->add_option("--data", recommendations.data_dir, "data directory")
      ->required();
  recommendations_list->add_flag("--json", recommendations.json, "print a JSON array");
  recommendations_list->add_option("--agent", recommendations.agent_id, "only this agent id");

  UserCommandOptions users;
  auto* users_cmd = app.add_subcommand("users", "console users")->require_subcommand(1);
  auto* users_create = users_cmd->add_subcommand(
      "create", "create a user; prints a one-time password as the last line");
  users_create->add_option("name", users.name, "user name")->required();
  users_create->add_option("--role", users.role, "viewer, approver or admin")->required();
  auto* users_list = users_cmd->add_subcommand("list", "list users");
  users_list->add_flag("--json", users.json, "print a JSON array");
  auto* users_disable = users_cmd->add_subcommand("disable", "disable a user; ends their sessions");
  users_disable->add_option("name", users.name, "user name")->required();
  auto* users_reset = users_cmd->add_subcommand(
      "reset-password", "set a new password, lift a lockout; prints it as the last line");
  users_reset->add_option("name", users.name, "user name")->required();
  auto* users_totp = users_cmd->add_subcommand(
      "enroll-totp", "give a user a TOTP second factor; prints the secret as the last line");
  users_totp->add_option("name", users.name, "user name")->required();
  for (CLI::App* command : {users_create, users_list, users_disable, users_reset, users_totp}) {
    command->add_option("--data", users.data_dir, "data directory")->required();
  }
  for (CLI::App* command : {users_create, users_reset}) {
    command->add_flag("--password-stdin", users.password_stdin,
                      "read the password from standard input instead of making one");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }

  if (serve_cmd->parsed()) {
    SetUpLogging();
    return RunServe(serve, std::cout, std::cerr);
  }
  if (create_cmd->parsed()) return RunApiKeysCreate(data_dir, key_name, std::cout, std::cerr);
  if (agents_list->parsed()) return RunAgentsList(data_dir, json, std::cout, std::cerr);
  if (snapshots_list->parsed()) return RunSnapshotsList(snapshots, std::cout, std::cerr);
  if (audit_list->parsed()) return RunAuditList(audit, std::cout, std::cerr);
  if (keys_init->parsed()) return RunKeysInit(data_dir, force, std::cout, std::cerr);
  if (keys_show->parsed()) return RunKeysShow(data_dir, std::cout, std::cerr);
  if (users_create->parsed()) return RunUsersCreate(users, std::cin, std::cout, std::cerr);
  if (users_list->parsed()) return RunUsersList(users, std::cout, std::cerr);
  if (users_disable->parsed()) return RunUsersDisable(users, std::cerr);
  if (users_reset->parsed()) return RunUsersResetPassword(users, std::cin, std::cout, std::cerr);
  if (users_totp->parsed()) return RunUsersEnrollTotp(users, std::cout, std::cerr);
  if (recommendations_list->parsed()) {
    return RunRecommendationsList(recommendations, std::cout, std::cerr);
  }
  const optischema::SystemClock clock;
  if (recommend_cmd->parsed()) return RunRecommend(data_dir, file, clock, std::cout, std::cerr);
  if (approve_cmd->parsed()) return RunApprove(data_dir, id, approver, clock, std::cerr);
  return RunRollback(data_dir, id, clock, std::cerr);
}

#include "cli/check_command.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "agent/agent_identity.h"
#include "agent/database_connector.h"
#include "agent/state_dir.h"
#include "applier/apply_preflight.h"
#include "collector/preflight.h"
#include "core/time_format.h"
#include "core/uuid.h"
#include "protocol/ed25519.h"

namespace optischema::cli {
namespace {

// Stands in for the agent id before the agent ever ran: the control plane answers 404 (unknown
// agent) to a good key and 401 to a bad one either way.
constexpr char kPlaceholderAgentId[] = "00000000-0000-4000-8000-000000000000";
constexpr std::chrono::seconds kHttpTimeout{15};

std::string StateDirItem(const std::string& state_dir, std::vector<CheckItem>* items) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string subject = "state_dir";
  if (!fs::exists(state_dir, ec)) {
    const fs::path parent = fs::path(state_dir).parent_path();
    if (access(parent.c_str(), W_OK) == 0) {
      items->push_back(Ok("state_dir", subject,
                          state_dir + " does not exist yet; the agent "
                                      "creates it at start (mode 0700)"));
    } else {
      // Under systemd, StateDirectory= creates it at start: not a failure by itself.
      items->push_back(Warn(
          "state_dir", subject,
          state_dir + " does not exist and " + parent.string() + " is not writable for this user",
          "under systemd nothing to do (StateDirectory= creates it); otherwise create it for the "
          "agent's user (mkdir -m 0700 " +
              state_dir + "; chown <agent user> " + state_dir + ") or set agent.state_dir"));
    }
    return "";
  }
  if (access(state_dir.c_str(), W_OK | X_OK) != 0) {
    items->push_back(Fail("state_dir", subject, state_dir + " is not writable for this user",
                          "chown it to the user the agent runs as, or set agent.state_dir"));
    return "";
  }
  items->push_back(Ok("state_dir", subject, state_dir + " is writable"));
  std::ifstream id_file(agent::StateDir(state_dir).AgentIdFile());
  std::string id;
  id_file >> id;
  return IsCanonicalUuid(id) ? id : "";
}

CheckItem ConnectionFailure(const std::string& subject, const Error& error) {
  std::string fix;
  switch (error.code) {
    case ErrorCode::kAuthFailed:
      fix = "check the role and password (password_file) and that pg_hba.conf admits this host";
      break;
    case ErrorCode::kConnectionFailed:
      fix =
          "check the DSN's host and port, that PostgreSQL listens there (listen_addresses) and "
          "that no firewall is in between";
      break;
    default:
      fix = "check the DSN of this [[database]] entry";
  }
  return Fail("connection", subject, error.ToString(), fix);
}

void DatabaseItems(const agent::DatabaseConfig& db, std::vector<CheckItem>* items) {
  const std::string subject = "database " + db.name;
  auto session = agent::MakeSessionFactory(db)();
  if (!session.ok()) {
    items->push_back(ConnectionFailure(subject, session.error()));
    return;
  }
  for (CheckItem& item : collector::PreflightCollection(**session, db.name, subject)) {
    items->push_back(std::move(item));
  }
  items->push_back(applier::PreflightSuperuser(**session, subject, db.apply));
  if (db.apply) {
    for (CheckItem& item : applier::PreflightApply(**session, subject)) {
      items->push_back(std::move(item));
    }
  }
}

void RecommendationKeyItem(const agent::Config& config, std::vector<CheckItem>* items) {
  bool any_apply = false;
  for (const agent::DatabaseConfig& db : config.databases) any_apply = any_apply || db.apply;
  if (!any_apply) return;
  const std::string subject = "recommendations";
  if (config.recommendation_public_key.empty()) {
    items->push_back(Warn("recommendation_public_key", subject,
                          "apply = true is set but control_plane.recommendation_public_key is "
                          "empty: no recommendation can be verified, so none is applied",
                          "set it to the key `optischema-controlplane keys show` prints (or your "
                          "control plane's signing public key)"));
    return;
  }
  // Any signature of the right size tells a malformed key (kConfig) from a well-formed one.
  const Status probe = protocol::Ed25519Verify(config.recommendation_public_key, "check",
                                               std::string(86, 'A') + "==");
  if (!probe.ok() && probe.error().code == ErrorCode::kConfig) {
    items->push_back(Fail("recommendation_public_key", subject, probe.error().message,
                          "copy the public key again from the control plane (base64 of 32 "
                          "bytes)"));
    return;
  }
  items->push_back(Ok("recommendation_public_key", subject,
                      "recommendation_public_key is a well-formed Ed25519 public key"));
}

void ControlPlaneItems(const agent::Config& config, const std::string& agent_id,
                       const HttpClientFactory& http, std::vector<CheckItem>* items) {
  const std::string subject = "control plane";
  if (config.control_plane_url.empty()) {
    items->push_back(Fail("control_plane", subject,
                          "control_plane.url is not set: `run` needs a control plane to deliver "
                          "to (`collect --dry-run` and `advise` work without one)",
                          "set control_plane.url or OPTISCHEMA_CONTROL_PLANE_URL"));
    return;
  }
  delivery::HttpClientOptions options;
  options.base_url = config.control_plane_url;
  options.api_key = config.api_key;
  options.ca_file = config.ca_file;
  options.proxy = config.proxy;
  options.connect_timeout = kHttpTimeout;
  options.total_timeout = kHttpTimeout;
  if (Status valid = delivery::ValidateHttpClientOptions(options); !valid.ok()) {
    items->push_back(Fail("control_plane", subject, valid.error().message,
                          "correct the [control_plane] setting it names"));
    return;
  }
  if (config.api_key.empty()) {
    items->push_back(Fail("api_key", subject, "no API key is configured",
                          "set control_plane.api_key_file (or OPTISCHEMA_API_KEY_FILE) to a file "
                          "holding the key the control plane issued"));
    return;
  }
  delivery::HttpRequest request;
  request.path = "/v1/agents/" + (agent_id.empty() ? std::string(kPlaceholderAgentId) : agent_id) +
                 "/recommendations?status=approved";
  const auto sent_at = std::chrono::system_clock::now();
  auto response = http(options)->Send(request);
  const auto received_at = std::chrono::system_clock::now();
  if (!response.ok()) {
    const Error& e = response.error();
    const bool tls = e.message.find("certificate") != std::string::npos ||
                     e.message.find("TLS") != std::string::npos ||
                     e.message.find("SSL") != std::string::npos;
    std::string fix;
    if (tls) {
      fix =
          "the server's certificate did not verify: set control_plane.ca_file to the CA that "
          "signed it (or install that CA in the system trust store), and check that the URL's "
          "host name is in the certificate";
    } else if (e.code == ErrorCode::kTimeout) {
      fix = "no answer within " + std::to_string(kHttpTimeout.count()) +
            " s: outbound HTTPS to the control plane may be blocked; open egress to its host and "
            "port, or set control_plane.proxy";
    } else {
      fix =
          "check control_plane.url (host, port), DNS, and that outbound HTTPS to it is allowed "
          "(firewall, control_plane.proxy / https_proxy)";
    }
    items->push_back(Fail("control_plane", subject,
                          "cannot reach " + config.control_plane_url + ": " + e.message, fix));
    return;
  }
  items->push_back(Ok("control_plane", subject,
                      config.control_plane_url + " reachable over HTTPS, certificate verified"));
  const int status = response->status;
  if (status == 401 || status == 403) {
    items->push_back(
        Fail("api_key", subject,
             "the control plane refused the API key (HTTP " + std::to_string(status) + ")",
             "create a key on the control plane (optischema-controlplane api-keys "
             "create) and put it in control_plane.api_key_file"));
  } else if (status == 200 || status == 404) {
    items->push_back(Ok("api_key", subject, "API key accepted"));
  } else {
    items->push_back(Warn("api_key", subject,
                          "the control plane answered HTTP " + std::to_string(status) +
                              "; the API key could not be confirmed",
                          "look at the control plane's state, then run check again"));
  }

  const auto date = response->headers.find("date");
  const auto server_time =
      date == response->headers.end() ? std::nullopt : ParseHttpDate(date->second);
  if (!server_time) {
    items->push_back(Warn("clock", subject, "the control plane sent no usable Date header",
                          "make sure this host's clock is synchronized (NTP)"));
    return;
  }
  // The Date header has whole seconds: compare with the middle of the exchange.
  const auto local = sent_at + (received_at - sent_at) / 2;
  const double skew = std::chrono::duration<double>(local - *server_time).count();
  char text[96];
  std::snprintf(text, sizeof text, "this host's clock is %.0f s %s the control plane's",
                std::fabs(skew), skew >= 0 ? "ahead of" : "behind");
  const std::string fix =
      "synchronize the clock (timedatectl set-ntp true, or chrony): recommendations expire by it "
      "and the audit log is stamped with it";
  if (std::fabs(skew) > static_cast<double>(kSkewFail.count())) {
    items->push_back(Fail("clock", subject, text, fix));
  } else if (std::fabs(skew) > static_cast<double>(kSkewWarn.count())) {
    items->push_back(Warn("clock", subject, text, fix));
  } else {
    items->push_back(
        Ok("clock", subject,
           std::string(text) + " (within " + std::to_string(kSkewWarn.count()) + " s)"));
  }
}

}  // namespace

std::vector<CheckItem> RunChecks(const std::string& config_path, const agent::EnvLookup& env,
                                 const HttpClientFactory& http) {
  std::vector<CheckItem> items;
  auto config = agent::LoadConfig(config_path, env);
  if (!config.ok()) {
    items.push_back(Fail("config", "config", config.error().message,
                         "correct the setting the message names, then run check again"));
    return items;
  }
  const std::string source = config_path.empty() ? "the environment" : config_path;
  items.push_back(Ok("config", "config",
                     "configuration from " + source + " is valid (" +
                         std::to_string(config->databases.size()) + " database" +
                         (config->databases.size() == 1 ? "" : "s") + ")"));
  const std::string agent_id = StateDirItem(config->state_dir, &items);
  for (const agent::DatabaseConfig& db : config->databases) DatabaseItems(db, &items);
  RecommendationKeyItem(*config, &items);
  ControlPlaneItems(*config, agent_id, http, &items);
  return items;
}

int PrintChecks(const std::vector<CheckItem>& items, OutputFormat format, std::ostream& out) {
  bool failed = false;
  for (const CheckItem& item : items) failed = failed || item.level == CheckLevel::kFail;
  if (format == OutputFormat::kJson) {
    nlohmann::json array = nlohmann::json::array();
    for (const CheckItem& item : items) {
      array.push_back({{"check", item.check},
                       {"subject", item.subject},
                       {"status", CheckLevelName(item.level)},
                       {"message", item.message},
                       {"fix", item.fix}});
    }
    out << array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    for (const CheckItem& item : items) {
      std::string level = CheckLevelName(item.level);
      level.resize(6, ' ');
      out << level << item.subject << ": " << item.message << "\n";
      if (!item.fix.empty()) out << "      fix: " << item.fix << "\n";
    }
  }
  return failed ? 1 : 0;
}

}  // namespace optischema::cli

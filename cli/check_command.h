#pragma once

// `optischema-agent check`: a preflight of everything the agent needs, one line per item, each OK,
// WARN or FAIL with the fix:
//   config            the configuration loads (else the error naming file, line and key)
//   state_dir         exists and is writable, or can be created
//   per database      reachable; PostgreSQL version; pg_stat_statements preloaded and installed
//                     (version); the privilege to read every role's statements; not a
//                     superuser (FAIL with apply = true, WARN otherwise); HypoPG (WARN when
//                     missing); with apply = true: a primary, the privilege to build indexes on
//                     the tables, and what set_config needs (ALTER SYSTEM on allow-listed
//                     settings, EXECUTE on pg_reload_conf(), pg_file_settings)
//   recommendation key  set and well-formed when some database has apply = true
//   control plane     reachable with a verified TLS certificate, API key accepted, clock skew
//                     against the server's Date header
// Read-only everywhere: it sends one GET to the control plane and registers nothing.

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "agent/config.h"
#include "cli/collect_command.h"
#include "core/preflight.h"
#include "delivery/http_client.h"

namespace optischema::cli {

// Clock skew against the control plane beyond which check warns, and fails.
inline constexpr std::chrono::seconds kSkewWarn{30};
inline constexpr std::chrono::seconds kSkewFail{300};

using HttpClientFactory =
    std::function<std::unique_ptr<delivery::HttpClient>(const delivery::HttpClientOptions&)>;

// Every item, in the order above. A configuration that does not load is one FAIL item and
// nothing else is checked.
std::vector<CheckItem> RunChecks(const std::string& config_path, const agent::EnvLookup& env,
                                 const HttpClientFactory& http);

// Text: "OK    subject: message" lines, with "      fix: …" under WARN and FAIL. JSON: an array
// of {check, subject, status, message, fix}. Exit status 0 when no item is FAIL, 1 otherwise.
int PrintChecks(const std::vector<CheckItem>& items, OutputFormat format, std::ostream& out);

}  // namespace optischema::cli

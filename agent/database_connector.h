#pragma once

// Builds the session factory of a configured database: libpq with the DSN, and the password read
// from password_file at every connect (so a rotated file is picked up on reconnect).

#include <string>
#include <vector>

#include "advisor/advisor.h"
#include "agent/config.h"
#include "collector/collector.h"

namespace optischema::agent {

collector::SessionFactory MakeSessionFactory(const DatabaseConfig& database,
                                             pg::SessionMode mode = pg::SessionMode::kReadOnly);

// The password in `path` (a password_file): the whole content without trailing line breaks.
// kConfig naming the file when it cannot be read.
Result<std::string> ReadPasswordFile(const std::string& path);

// What must never appear in a log line: the API key, every database password (password files read
// now; an unreadable one adds nothing) and passwords written into a DSN.
std::vector<std::string> SecretsOf(const Config& config);

// Collector options for one database from the configuration.
collector::CollectorOptions MakeCollectorOptions(const Config& config,
                                                 const DatabaseConfig& database);

// Index advisor options for one database from the configuration.
advisor::AdvisorOptions MakeAdvisorOptions(const Config& config, const DatabaseConfig& database);

}  // namespace optischema::agent

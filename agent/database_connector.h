#pragma once

// Builds the session factory of a configured database: libpq with the DSN, and the password read
// from password_file at every connect (so a rotated file is picked up on reconnect).

#include "agent/config.h"
#include "collector/collector.h"

namespace optischema::agent {

collector::SessionFactory MakeSessionFactory(const DatabaseConfig& database);

// Collector options for one database from the configuration.
collector::CollectorOptions MakeCollectorOptions(const Config& config,
                                                 const DatabaseConfig& database);

}  // namespace optischema::agent

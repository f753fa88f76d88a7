#pragma once

// Private to the Executor's .cc files (applier/executor.h): the small helpers its kinds share.
// Not part of the applier's interface; nothing outside applier/ includes it.

#include <string>
#include <string_view>

#include "applier/executor.h"
#include "core/result.h"
#include "pg/pg_session.h"

namespace optischema::applier::executor_support {

// `identifier` double-quoted for SQL (pg::QuoteIdentifier).
std::string Q(std::string_view identifier);

// The outcome of a change a precondition refused: nothing ran. Executor::Apply audits it.
ApplyOutcome Rejected(std::string detail);

// A server error for an event detail or the audit log, on one line: libpq's "ERROR:  " prefix and
// the LINE/caret lines that follow the primary message dropped, the SQLSTATE kept.
std::string OneLine(const Error& error);

// Makes the server re-read its configuration files (pg_reload_conf()). Defined in
// setting_change.cc; crash recovery and rollbacks of set_config use it too.
Status Reload(pg::PgSession& session);

}  // namespace optischema::applier::executor_support

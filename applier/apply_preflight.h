#pragma once

// What `optischema-agent check` verifies for a database with apply = true: that it is a primary,
// that the role may build indexes on the user's tables (it must own them, or be a superuser), and
// every privilege set_config needs (ALTER SYSTEM on allow-listed settings, pg_reload_conf(),
// pg_file_settings). For every database: whether the role is a superuser. Read-only catalog
// queries.

#include <string>
#include <vector>

#include "core/preflight.h"
#include "pg/pg_session.h"

namespace optischema::applier {

// `subject` names the database in every item. Never fails: a failing query becomes a FAIL item.
std::vector<CheckItem> PreflightApply(pg::PgSession& session, const std::string& subject);

// "superuser": OK for a role without SUPERUSER; FAIL for a superuser when `apply` (the agent must
// not change a database as a superuser), WARN otherwise (it refuses to plan statements as one, so
// the advisor's proposals and plan checks are skipped; collection works).
CheckItem PreflightSuperuser(pg::PgSession& session, const std::string& subject, bool apply);

}  // namespace optischema::applier

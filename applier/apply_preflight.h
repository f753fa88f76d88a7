#pragma once

// What `optischema-agent check` verifies for a database with apply = true: that it is a primary,
// that the role may build indexes on the user's tables (it must own them, or be a superuser), and
// that it may use ALTER SYSTEM (for set_config). Read-only catalog queries.

#include <string>
#include <vector>

#include "collector/pg_session.h"
#include "core/preflight.h"

namespace optischema::applier {

// `subject` names the database in every item. Never fails: a failing query becomes a FAIL item.
std::vector<CheckItem> PreflightApply(collector::PgSession& session, const std::string& subject);

}  // namespace optischema::applier

#pragma once

// Following an agent daemon that applies changes, from outside it: the audit steps it wrote to
// its state directory, and its sessions running DDL in pg_stat_activity. No hook inside the agent.

#include <string>
#include <vector>

#include "tests/support/pg_cluster.h"

namespace optischema::testing {

// The audit steps of recommendation `id` in `state_dir`/audit.jsonl so far, oldest first (a line
// being written is skipped).
std::vector<std::string> AuditSteps(const std::string& state_dir, const std::string& id);

// Whether AuditSteps(state_dir, id) holds `step`.
bool HasAuditStep(const std::string& state_dir, const std::string& id, const std::string& step);

// The last outcome (applied, failed, rolled_back, rollback_failed, rejected) the audit log holds
// for `id`, "" when none yet.
std::string LastAuditOutcome(const std::string& state_dir, const std::string& id);

// Backends of the agent (application_name optischema-agent) running DDL: an index build or drop,
// ALTER SYSTEM. Rows: pid, state, wait_event_type ("" when not waiting), query. With `idle_too`,
// also sessions whose last statement was such DDL.
std::vector<std::vector<std::string>> AgentDdlSessions(PgCluster& cluster, bool idle_too = false);

}  // namespace optischema::testing

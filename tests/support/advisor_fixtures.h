#pragma once

// Running the index advisor against a real server as the daemon does: options with a digest key,
// sessions of a DSN, one advice read and committed, and its findings looked up by index.

#include <memory>
#include <string>

#include "advisor/advisor.h"
#include "pg/pg_session.h"
#include "pg/table_digest.h"
#include "protocol/advice.h"

namespace optischema::testing {

// A fixed digest key, as the agent keeps one in its state directory.
const pg::DigestKey& TestDigestKey();

// Advisor options as the daemon builds them: with TestDigestKey(), so tables get digests.
advisor::AdvisorOptions KeyedAdvisorOptions();

// A session on `dsn` in `mode`; throws std::runtime_error when connecting fails.
std::unique_ptr<pg::PgSession> ConnectSession(const std::string& dsn,
                                              pg::SessionMode mode = pg::SessionMode::kReadOnly);

// advisor.Run on a fresh read-only session of `dsn`, then advisor.Commit(); throws
// std::runtime_error when either fails.
protocol::Advice AdviseOnce(advisor::Advisor& advisor, const std::string& dsn);

// The finding about index `index`, or null.
const protocol::IndexFinding* FindingFor(const protocol::Advice& advice, const std::string& index);

}  // namespace optischema::testing

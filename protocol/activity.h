#pragma once

// Protocol v1 activity: what the agent's sessions sampler saw in one window, carried by the
// snapshot as `activity` (absent when sampling is off or no sample was taken). Plain data; every
// field name lives in activity_json.cc.
//
// "Load" is the average number of active sessions over the window's samples (a session is active
// while it runs a statement, whether on CPU or waiting). A session that is active and reports no
// wait event counts as on CPU: wait class "CPU". The figures are of the configured database's
// backends only, without the agent's sampling session. Nothing here comes from the `query` column
// of pg_stat_activity: statements are named by queryid, sessions by process id.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace optischema::protocol {

// The wait class of an active session that waits on nothing.
inline constexpr char kOnCpuWaitClass[] = "CPU";

struct ClassLoad {
  std::string wait_class;  // wait_event_type, or "CPU"
  double load = 0;
};

struct WaitLoad {
  std::string wait_class;
  std::optional<std::string> wait_event;  // none for "CPU"
  double load = 0;
};

struct StatementLoad {
  int64_t queryid = 0;
  std::string wait_class;
  double load = 0;
};

struct BackendTypeLoad {
  std::string backend_type;  // "client backend", "autovacuum worker", "parallel worker"...
  double load = 0;
};

// One session of a blocking chain, as the sample that saw the chain at its worst found it.
struct ChainSession {
  int64_t pid = 0;
  int level = 0;                   // 0: the root (blocks, is not blocked); n: n waits away
  std::optional<int64_t> queryid;  // PostgreSQL 14+, when the server computed one
  std::string state;               // pg_stat_activity.state; "unknown" when not seen
  std::string backend_type;
  std::optional<std::string> wait_class;  // none when it waits on nothing
  std::optional<std::string> wait_event;
  std::optional<double> state_age_s;  // since its state last changed: for a blocked session, an
                                      // upper bound of how long it has waited
  std::optional<double> xact_age_s;   // since its transaction began; none outside a transaction
};

// Sessions waiting on a lock, rooted at the session that blocks them and waits on no lock itself.
struct BlockingChain {
  ChainSession root;
  std::vector<ChainSession> blocked;  // every session it blocks, directly or not (level >= 1)
  int depth = 0;                      // largest level: 1 when all wait on the root directly
  double longest_wait_s = 0;          // largest state_age_s of the blocked sessions
  int64_t samples = 0;                // samples of the window in which this root blocked someone
};

// A session idle in a transaction for longer than collector.idle_in_transaction_warn while holding
// table locks or blocking someone.
struct IdleInTransaction {
  int64_t pid = 0;
  std::optional<int64_t> queryid;  // of its last statement, when the server kept it
  std::string state;               // "idle in transaction" or "idle in transaction (aborted)"
  double idle_s = 0;
  std::optional<double> xact_age_s;
  int64_t locks_held = 0;  // table locks it holds
  int64_t blocking = 0;    // sessions waiting on it, directly or not
};

struct Activity {
  int64_t samples = 0;
  double sample_interval_s = 0;
  // Whether load is attributed to statements (PostgreSQL 14+: pg_stat_activity.query_id); when
  // not, the note says why (e.g. PostgreSQL 13 has no query_id).
  bool statement_attribution = false;
  std::optional<std::string> attribution_note;
  double load = 0;                          // average active sessions
  int64_t max_active = 0;                   // most active sessions in one sample
  std::vector<ClassLoad> by_wait_class;     // every class seen, most load first
  std::vector<WaitLoad> top_waits;          // class and event, most load first, at most kTopWaits
  std::vector<StatementLoad> by_statement;  // queryid × wait class, at most kTopStatementLoads
  std::vector<BackendTypeLoad> by_backend_type;
  int64_t lock_wait_samples = 0;          // samples in which some session waited on a lock
  std::vector<BlockingChain> blocking;    // worst chains (longest wait), at most kTopChains
  double idle_in_transaction_warn_s = 0;  // the threshold of idle_in_transaction
  std::vector<IdleInTransaction> idle_in_transaction;  // longest idle first, at most kTopIdle
};

inline constexpr std::size_t kTopWaits = 20;
inline constexpr std::size_t kTopStatementLoads = 50;
inline constexpr std::size_t kTopChains = 5;
inline constexpr std::size_t kTopIdle = 10;
// Sessions listed per chain; a chain blocking more lists the longest waiting ones.
inline constexpr std::size_t kMaxChainSessions = 50;

}  // namespace optischema::protocol

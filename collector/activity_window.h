#pragma once

// ActivityWindow: the activity samples of one snapshot window folded into the snapshot's
// `activity` (protocol/activity.h): load by wait class, wait event, statement and backend type,
// the worst blocking chains and the sessions idle in a transaction too long. Memory grows with
// the distinct sessions and statements seen in the window, not with the number of samples.
// Not thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "collector/activity_reader.h"
#include "core/result.h"
#include "pg/pg_session.h"
#include "protocol/activity.h"

namespace optischema::collector {

// The blocking chains of one sample: one per root (a session that blocks others and waits on no
// lock itself, or a blocker the sample did not see), with every session it blocks directly or
// not. A session blocked by two roots is in both chains; cycles are cut. Chains are ordered by
// root pid; the blocked sessions of a chain by level, then longest wait.
std::vector<protocol::BlockingChain> BuildBlockingChains(const ActivitySample& sample);

struct ActivityWindowOptions {
  double sample_interval_s = 1;
  double idle_in_transaction_warn_s = 60;
  bool statement_attribution = true;  // false: by_statement stays empty
  std::optional<std::string> attribution_note;
};

class ActivityWindow;
// A window for samples of `query`, with `options`' interval and threshold: statement attribution
// only when the server has query_id (the note says why not otherwise).
ActivityWindow ActivityWindowFor(const ActivityQuery& query, ActivityWindowOptions options);

class ActivityWindow {
 public:
  explicit ActivityWindow(ActivityWindowOptions options) : options_(std::move(options)) {}

  void Add(const ActivitySample& sample);
  int64_t samples() const { return samples_; }
  // The window's figures; nullopt when no sample was added.
  std::optional<protocol::Activity> Summarize() const;
  // Starts a new window.
  void Clear();

 private:
  ActivityWindowOptions options_;
  int64_t samples_ = 0;
  int64_t active_ = 0;  // Σ active sessions over the samples
  int64_t max_active_ = 0;
  int64_t lock_wait_samples_ = 0;
  std::map<std::string, int64_t> by_class_;
  std::map<std::pair<std::string, std::string>, int64_t> by_event_;  // "" event: none
  std::map<std::pair<int64_t, std::string>, int64_t> by_statement_;
  std::map<std::string, int64_t> by_backend_type_;
  std::map<int64_t, protocol::BlockingChain> chains_;    // by root pid: worst seen
  std::map<int64_t, protocol::IdleInTransaction> idle_;  // by pid: longest idle seen
};

// One sample of the connected database's sessions, summarized on its own (`advise`: the blocking
// chains and idle transactions right now). Errors: those of PgSession::Query.
Result<protocol::Activity> ActivityNow(pg::PgSession& session, int64_t idle_in_transaction_warn_s);

}  // namespace optischema::collector

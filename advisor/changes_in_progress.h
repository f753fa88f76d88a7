#pragma once

// ChangesInProgress: the index changes this agent's apply worker is making, or made a short while
// ago, so that the advisor does not propose them again. An index build is not in the catalog the
// moment it is taken (preflight checks, lock retries), and the advisor's reading may predate its
// end; meanwhile the table's digest can change, which gives the same index a new recommendation
// id at the control plane. The daemon owns one, the apply worker writes it (Begin) and every
// database's advisor reads it (Holds).
//
// A change counts from Begin() until its InProgress handle is destroyed, then for
// `held_after_end` more (time from the clock's Monotonic()), after which it is forgotten; one
// discarded (InProgress::Discard) stops counting at once.
// Only create_index, drop_index, set_table_options and analyze_table changes are recorded; other
// kinds are ignored.
//
// Thread safety: every member may be called from any thread. The object must outlive every
// InProgress handle it gave out and every advisor reading it.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"
#include "protocol/advice.h"
#include "protocol/recommendation.h"

namespace optischema::advisor {

class ChangesInProgress {
 public:
  static constexpr std::chrono::hours kHeldAfterEnd{1};

  // Ends the change it was given for when destroyed (a default-constructed or moved-from handle
  // ends nothing). Move-only.
  class InProgress {
   public:
    InProgress() = default;
    InProgress(InProgress&& other) noexcept;
    InProgress& operator=(InProgress&& other) noexcept;
    ~InProgress();

    // The change did not happen (refused, or failed and cleaned up): it stops counting at once,
    // without the hold after its end, so that a new proposal for it is not kept back.
    void Discard();

   private:
    friend class ChangesInProgress;
    InProgress(ChangesInProgress* owner, uint64_t token) : owner_(owner), token_(token) {}
    ChangesInProgress* owner_ = nullptr;
    uint64_t token_ = 0;
  };

  // `clock` must outlive the object.
  explicit ChangesInProgress(const Clock& clock,
                             std::chrono::milliseconds held_after_end = kHeldAfterEnd);

  ChangesInProgress(const ChangesInProgress&) = delete;
  ChangesInProgress& operator=(const ChangesInProgress&) = delete;

  // Records `spec` as in progress on `database` (its configured name) until the handle goes.
  [[nodiscard]] InProgress Begin(const std::string& database,
                                 const protocol::RecommendationSpec& spec);

  // Whether `proposal` for `database` is equal to a recorded change: a create_index on the same
  // table with the same key columns, as a plain btree index (no INCLUDE, no predicate), a
  // drop_index of the same index, a set_table_options on the same table setting every option the
  // proposal sets to the same value, or an analyze_table of the same table.
  bool Holds(const std::string& database, const protocol::IndexProposal& proposal) const;

 private:
  struct Entry {
    std::string database;
    protocol::RecommendationSpec spec;
    std::optional<std::chrono::steady_clock::time_point> ended_at;
  };

  // Marks the change ended now; with `discard`, forgets it.
  void End(uint64_t token, bool discard);
  // Whether the entry still counts at `now`.
  bool Counts(const Entry& entry, std::chrono::steady_clock::time_point now) const;

  const Clock& clock_;
  const std::chrono::milliseconds held_after_end_;
  mutable std::mutex mu_;
  std::map<uint64_t, Entry> entries_;  // guarded by mu_; ones that no longer count go at Begin
  uint64_t next_token_ = 1;            // guarded by mu_
};

}  // namespace optischema::advisor

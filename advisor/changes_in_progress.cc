#include "advisor/changes_in_progress.h"

#include <algorithm>
#include <utility>
#include <variant>

namespace optischema::advisor {

ChangesInProgress::InProgress::InProgress(InProgress&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), token_(other.token_) {}

ChangesInProgress::InProgress& ChangesInProgress::InProgress::operator=(
    InProgress&& other) noexcept {
  if (this != &other) {
    if (owner_ != nullptr) owner_->End(token_, /*discard=*/false);
    owner_ = std::exchange(other.owner_, nullptr);
    token_ = other.token_;
  }
  return *this;
}

ChangesInProgress::InProgress::~InProgress() {
  if (owner_ != nullptr) owner_->End(token_, /*discard=*/false);
}

void ChangesInProgress::InProgress::Discard() {
  if (owner_ != nullptr) owner_->End(token_, /*discard=*/true);
  owner_ = nullptr;
}

ChangesInProgress::ChangesInProgress(const Clock& clock, std::chrono::milliseconds held_after_end)
    : clock_(clock), held_after_end_(held_after_end) {}

ChangesInProgress::InProgress ChangesInProgress::Begin(const std::string& database,
                                                       const protocol::RecommendationSpec& spec) {
  if (!std::holds_alternative<protocol::CreateIndexSpec>(spec) &&
      !std::holds_alternative<protocol::DropIndexSpec>(spec) &&
      !std::holds_alternative<protocol::SetTableOptionsSpec>(spec) &&
      !std::holds_alternative<protocol::AnalyzeTableSpec>(spec)) {
    return InProgress();
  }
  const auto now = clock_.Monotonic();
  std::lock_guard lock(mu_);
  std::erase_if(entries_, [&](const auto& entry) { return !Counts(entry.second, now); });
  const uint64_t token = next_token_++;
  entries_[token] = Entry{database, spec, std::nullopt};
  return InProgress(this, token);
}

void ChangesInProgress::End(uint64_t token, bool discard) {
  const auto now = clock_.Monotonic();
  std::lock_guard lock(mu_);
  const auto it = entries_.find(token);
  if (it == entries_.end()) return;
  if (discard) {
    entries_.erase(it);
  } else {
    it->second.ended_at = now;
  }
}

bool ChangesInProgress::Counts(const Entry& entry,
                               std::chrono::steady_clock::time_point now) const {
  return !entry.ended_at || now - *entry.ended_at < held_after_end_;
}

bool ChangesInProgress::Holds(const std::string& database,
                              const protocol::IndexProposal& proposal) const {
  const auto now = clock_.Monotonic();
  std::lock_guard lock(mu_);
  for (const auto& [token, entry] : entries_) {
    if (entry.database != database || !Counts(entry, now)) continue;
    if (const auto* create = std::get_if<protocol::CreateIndexSpec>(&entry.spec)) {
      if (proposal.kind == "create_index" && create->schema == proposal.schema &&
          create->table == proposal.table && create->columns == proposal.columns &&
          create->method == protocol::IndexMethod::kBtree && create->include.empty() &&
          !create->where) {
        return true;
      }
    } else if (const auto* drop = std::get_if<protocol::DropIndexSpec>(&entry.spec)) {
      if (proposal.kind == "drop_index" && drop->schema == proposal.schema &&
          drop->index == proposal.index) {
        return true;
      }
    } else if (const auto* set = std::get_if<protocol::SetTableOptionsSpec>(&entry.spec)) {
      if (proposal.kind == "set_table_options" && set->schema == proposal.schema &&
          set->table == proposal.table && !proposal.table_options.empty() &&
          std::all_of(proposal.table_options.begin(), proposal.table_options.end(),
                      [&](const auto& option) {
                        return std::find(set->options.begin(), set->options.end(),
                                         std::pair<std::string, std::string>(option)) !=
                               set->options.end();
                      })) {
        return true;
      }
    } else if (const auto* analyze = std::get_if<protocol::AnalyzeTableSpec>(&entry.spec)) {
      if (proposal.kind == "analyze_table" && analyze->schema == proposal.schema &&
          analyze->table == proposal.table) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace optischema::advisor

#include "collector/activity_window.h"

#include <algorithm>
#include <unordered_map>

namespace optischema::collector {

namespace {

constexpr char kUnknownState[] = "unknown";

std::string WaitClassOf(const SessionSample& s) {
  return s.wait_event_type ? *s.wait_event_type : std::string(protocol::kOnCpuWaitClass);
}

protocol::ChainSession ChainMember(const SessionSample* s, int64_t pid, int level) {
  protocol::ChainSession out;
  out.pid = pid;
  out.level = level;
  if (!s) {
    out.state = kUnknownState;
    return out;
  }
  out.queryid = s->queryid;
  out.state = s->state.value_or(kUnknownState);
  out.backend_type = s->backend_type;
  out.wait_class = s->wait_event_type;
  out.wait_event = s->wait_event;
  out.state_age_s = s->state_age_s;
  out.xact_age_s = s->xact_age_s;
  return out;
}

// Worse: waited longer, then deeper.
bool Worse(const protocol::BlockingChain& a, const protocol::BlockingChain& b) {
  return std::tie(a.longest_wait_s, a.depth) > std::tie(b.longest_wait_s, b.depth);
}

template <class Key>
std::vector<std::pair<Key, int64_t>> MostFirst(const std::map<Key, int64_t>& counts) {
  std::vector<std::pair<Key, int64_t>> out(counts.begin(), counts.end());
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

}  // namespace

std::vector<protocol::BlockingChain> BuildBlockingChains(const ActivitySample& sample) {
  std::unordered_map<int64_t, const SessionSample*> by_pid;
  std::unordered_map<int64_t, std::vector<int64_t>> waiters;  // blocker -> sessions it blocks
  for (const SessionSample& s : sample) {
    by_pid[s.pid] = &s;
    for (int64_t blocker : s.blocked_by) waiters[blocker].push_back(s.pid);
  }
  std::vector<int64_t> roots;
  for (const auto& [blocker, blocked] : waiters) {
    auto it = by_pid.find(blocker);
    if (it == by_pid.end() || it->second->blocked_by.empty()) roots.push_back(blocker);
  }
  std::sort(roots.begin(), roots.end());

  std::vector<protocol::BlockingChain> chains;
  for (int64_t root : roots) {
    protocol::BlockingChain chain;
    auto found = by_pid.find(root);
    chain.root = ChainMember(found == by_pid.end() ? nullptr : found->second, root, 0);
    chain.samples = 1;
    // Breadth first: each session at the level it is first reached.
    std::unordered_map<int64_t, int> level{{root, 0}};
    std::vector<int64_t> frontier{root};
    for (int depth = 1; !frontier.empty(); ++depth) {
      std::vector<int64_t> next;
      for (int64_t pid : frontier) {
        auto w = waiters.find(pid);
        if (w == waiters.end()) continue;
        for (int64_t waiter : w->second) {
          if (!level.emplace(waiter, depth).second) continue;
          next.push_back(waiter);
          chain.blocked.push_back(ChainMember(by_pid.at(waiter), waiter, depth));
          chain.depth = depth;
          chain.longest_wait_s =
              std::max(chain.longest_wait_s, by_pid.at(waiter)->state_age_s.value_or(0));
        }
      }
      frontier = std::move(next);
    }
    std::stable_sort(chain.blocked.begin(), chain.blocked.end(), [](const auto& a, const auto& b) {
      if (a.level != b.level) return a.level < b.level;
      return a.state_age_s.value_or(0) > b.state_age_s.value_or(0);
    });
    if (chain.blocked.size() > protocol::kMaxChainSessions) {
      chain.blocked.resize(protocol::kMaxChainSessions);
    }
    chains.push_back(std::move(chain));
  }
  return chains;
}

ActivityWindow ActivityWindowFor(const ActivityQuery& query, ActivityWindowOptions options) {
  options.statement_attribution = query.has_query_id;
  options.attribution_note.reset();
  if (!query.has_query_id) {
    options.attribution_note =
        "PostgreSQL 13 has no pg_stat_activity.query_id: load is not attributed to statements";
  }
  return ActivityWindow(std::move(options));
}

void ActivityWindow::Add(const ActivitySample& sample) {
  ++samples_;
  int64_t active = 0;
  bool lock_wait = false;
  for (const SessionSample& s : sample) {
    if (s.waits_on_lock()) lock_wait = true;
    if (!s.active()) continue;
    ++active;
    std::string wait_class = WaitClassOf(s);
    ++by_event_[{wait_class, s.wait_event.value_or("")}];
    ++by_backend_type_[s.backend_type];
    if (options_.statement_attribution && s.queryid) ++by_statement_[{*s.queryid, wait_class}];
    ++by_class_[std::move(wait_class)];
  }
  active_ += active;
  max_active_ = std::max(max_active_, active);
  if (lock_wait) ++lock_wait_samples_;

  std::unordered_map<int64_t, int64_t> blocking;  // pid -> sessions it blocks in this sample
  for (protocol::BlockingChain& chain : BuildBlockingChains(sample)) {
    blocking[chain.root.pid] = static_cast<int64_t>(chain.blocked.size());
    auto [it, added] = chains_.try_emplace(chain.root.pid, chain);
    if (added) continue;
    const int64_t seen = it->second.samples + 1;
    if (Worse(chain, it->second)) it->second = std::move(chain);
    it->second.samples = seen;
  }
  for (const SessionSample& s : sample) {
    if (!s.idle_in_transaction() || !s.state_age_s) continue;
    if (*s.state_age_s < options_.idle_in_transaction_warn_s) continue;
    const int64_t blocks = blocking.count(s.pid) ? blocking[s.pid] : 0;
    if (s.locks_held.value_or(0) == 0 && blocks == 0) continue;
    protocol::IdleInTransaction idle;
    idle.pid = s.pid;
    idle.queryid = s.queryid;
    idle.state = *s.state;
    idle.idle_s = *s.state_age_s;
    idle.xact_age_s = s.xact_age_s;
    idle.locks_held = s.locks_held.value_or(0);
    idle.blocking = blocks;
    auto [it, added] = idle_.try_emplace(s.pid, idle);
    if (!added && idle.idle_s >= it->second.idle_s) it->second = idle;
  }
}

std::optional<protocol::Activity> ActivityWindow::Summarize() const {
  if (samples_ == 0) return std::nullopt;
  protocol::Activity a;
  const double n = static_cast<double>(samples_);
  a.samples = samples_;
  a.sample_interval_s = options_.sample_interval_s;
  a.statement_attribution = options_.statement_attribution;
  a.attribution_note = options_.attribution_note;
  a.load = static_cast<double>(active_) / n;
  a.max_active = max_active_;
  for (const auto& [wait_class, count] : MostFirst(by_class_)) {
    a.by_wait_class.push_back({wait_class, static_cast<double>(count) / n});
  }
  for (const auto& [key, count] : MostFirst(by_event_)) {
    if (a.top_waits.size() == protocol::kTopWaits) break;
    protocol::WaitLoad w{key.first, std::nullopt, static_cast<double>(count) / n};
    if (!key.second.empty()) w.wait_event = key.second;
    a.top_waits.push_back(std::move(w));
  }
  for (const auto& [key, count] : MostFirst(by_statement_)) {
    if (a.by_statement.size() == protocol::kTopStatementLoads) break;
    a.by_statement.push_back({key.first, key.second, static_cast<double>(count) / n});
  }
  for (const auto& [type, count] : MostFirst(by_backend_type_)) {
    a.by_backend_type.push_back({type, static_cast<double>(count) / n});
  }
  a.lock_wait_samples = lock_wait_samples_;
  for (const auto& [pid, chain] : chains_) a.blocking.push_back(chain);
  std::stable_sort(a.blocking.begin(), a.blocking.end(), Worse);
  if (a.blocking.size() > protocol::kTopChains) a.blocking.resize(protocol::kTopChains);
  a.idle_in_transaction_warn_s = options_.idle_in_transaction_warn_s;
  for (const auto& [pid, idle] : idle_) a.idle_in_transaction.push_back(idle);
  std::stable_sort(a.idle_in_transaction.begin(), a.idle_in_transaction.end(),
                   [](const auto& x, const auto& y) { return x.idle_s > y.idle_s; });
  if (a.idle_in_transaction.size() > protocol::kTopIdle) {
    a.idle_in_transaction.resize(protocol::kTopIdle);
  }
  return a;
}

Result<protocol::Activity> ActivityNow(pg::PgSession& session, int64_t idle_in_transaction_warn_s) {
  auto query = ActivityQueryFor(session, idle_in_transaction_warn_s);
  RETURN_IF_ERROR(query);
  auto sample = ReadActivity(session, *query);
  RETURN_IF_ERROR(sample);
  ActivityWindowOptions options;
  options.sample_interval_s = 0;
  options.idle_in_transaction_warn_s = static_cast<double>(idle_in_transaction_warn_s);
  ActivityWindow window = ActivityWindowFor(*query, std::move(options));
  window.Add(*sample);
  return *window.Summarize();
}

void ActivityWindow::Clear() {
  samples_ = active_ = max_active_ = lock_wait_samples_ = 0;
  by_class_.clear();
  by_event_.clear();
  by_statement_.clear();
  by_backend_type_.clear();
  chains_.clear();
  idle_.clear();
}

}  // namespace optischema::collector

#pragma once

// RecentIds: a set of at most `capacity` keys that forgets the least recently inserted or touched
// one when full, each with the time it was last inserted. For what the agent remembers about
// recommendations it was sent but did not take (refused ids, ids whose outcome it re-reported):
// what the network sends must not make it grow without bound.
//
// Not thread-safe.

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace optischema {

class RecentIds {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RecentIds(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  bool contains(const std::string& key) const { return index_.contains(key); }
  std::size_t size() const { return index_.size(); }

  // When `key` was last inserted, or nullopt when it is not held.
  std::optional<Clock::time_point> InsertedAt(const std::string& key) const {
    const auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    return it->second->second;
  }

  void Erase(const std::string& key) {
    if (const auto it = index_.find(key); it != index_.end()) {
      order_.erase(it->second);
      index_.erase(it);
    }
  }

  // Adds `key` (or refreshes it) as the most recent, at `at`; forgets the oldest when full.
  void Insert(const std::string& key, Clock::time_point at = Clock::now()) {
    Erase(key);
    order_.emplace_front(key, at);
    index_.emplace(key, order_.begin());
    while (index_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

 private:
  using Entry = std::pair<std::string, Clock::time_point>;
  const std::size_t capacity_;
  std::list<Entry> order_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace optischema

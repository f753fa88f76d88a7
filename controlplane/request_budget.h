#pragma once

// A byte budget shared by the requests in flight: each request claims memory (its body as it is
// read, then an estimate of the parsed tree) through its own Claim, and gives everything back when
// the Claim is destroyed. A claim that would take the total past the budget is refused (the
// request is answered 503 with Retry-After), except for a request alone in flight, which may pass
// it so that one request of the largest size a route allows always goes through.
//
// Thread safety: RequestBudget and distinct Claims may be used from any thread; one Claim belongs
// to one request (one thread). The budget must outlive its claims.

#include <cstddef>
#include <mutex>

namespace optischema::controlplane {

class RequestBudget {
 public:
  explicit RequestBudget(std::size_t capacity_bytes) : capacity_(capacity_bytes) {}
  RequestBudget(const RequestBudget&) = delete;
  RequestBudget& operator=(const RequestBudget&) = delete;

  std::size_t capacity() const { return capacity_; }
  std::size_t in_use() const;  // bytes claimed now, over all requests

  // One request's share.
  class Claim {
   public:
    explicit Claim(RequestBudget* budget) : budget_(budget) {}  // null: nothing is bounded
    ~Claim() { Release(); }
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;

    // Claims `bytes` more; false, claiming nothing, when the budget cannot take them.
    [[nodiscard]] bool Add(std::size_t bytes);
    // Gives back everything claimed so far (what it covered was dropped).
    void Release();
    std::size_t held() const { return held_; }
    // The budget's capacity; 0 without a budget.
    std::size_t budget_capacity() const { return budget_ == nullptr ? 0 : budget_->capacity(); }

   private:
    RequestBudget* budget_;
    std::size_t held_ = 0;
  };

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::size_t in_use_ = 0;  // guarded by mutex_
};

}  // namespace optischema::controlplane

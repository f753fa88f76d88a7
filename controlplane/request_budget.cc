#include "controlplane/request_budget.h"

namespace optischema::controlplane {

std::size_t RequestBudget::in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

void RequestBudget::Claim::Release() {
  if (budget_ == nullptr || held_ == 0) return;
  std::lock_guard lock(budget_->mutex_);
  budget_->in_use_ -= held_;
  held_ = 0;
}

bool RequestBudget::Claim::Add(std::size_t bytes) {
  if (budget_ == nullptr) return true;
  std::lock_guard lock(budget_->mutex_);
  const std::size_t others = budget_->in_use_ - held_;
  const bool fits = bytes <= budget_->capacity_ && budget_->in_use_ <= budget_->capacity_ - bytes;
  if (!fits && others != 0) return false;
  budget_->in_use_ += bytes;
  held_ += bytes;
  return true;
}

}  // namespace optischema::controlplane

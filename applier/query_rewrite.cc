#include <algorithm>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "applier/executor.h"
#include "applier/executor_support.h"
#include "pg/plan_probe.h"
#include "pg/plan_safety.h"
#include "pg/predicate.h"

namespace optischema::applier {
namespace {

using executor_support::OneLine;
using executor_support::Rejected;

}  // namespace

Result<ApplyOutcome> Executor::Rewrite(const CheckedRecommendation& checked) {
  const protocol::Recommendation& rec = checked.recommendation;
  const auto& spec = std::get<protocol::RewriteSpec>(rec.spec);
  if (auto plain = pg::CheckPlainSelect(spec.original); !plain.ok()) {
    return Rejected("original: " + plain.error().message);
  }
  if (auto plain = pg::CheckPlainSelect(spec.rewritten); !plain.ok()) {
    return Rejected("rewritten: " + plain.error().message);
  }
  // The original must be a statement this database has run: a rewrite estimates the cost of a
  // query the application sends, never of a text made up to fold a value into an estimate.
  auto observed = Observed(spec.original);
  if (!observed.ok() && observed.error().code == ErrorCode::kExtensionMissing) {
    return Rejected("original: cannot be matched with a statement of this database: " +
                    observed.error().message);
  }
  RETURN_IF_ERROR(observed);
  if (!*observed) {
    return Rejected(
        "original: not a statement of this database (no entry of pg_stat_statements has its "
        "fingerprint); a rewrite is estimated only for a statement the application runs");
  }
  auto original = pg::ProveSafeToPlan(*session_, spec.original, pg::PlanPurpose::kRewrite);
  if (!original.ok()) {
    if (original.error().code != ErrorCode::kInvalidArgument) return std::move(original).error();
    return Rejected("original: " + original.error().message);
  }
  auto rewritten = pg::ProveSafeToPlan(*session_, spec.rewritten, pg::PlanPurpose::kRewrite);
  if (!rewritten.ok()) {
    if (rewritten.error().code != ErrorCode::kInvalidArgument) return std::move(rewritten).error();
    return Rejected("rewritten: " + rewritten.error().message);
  }
  const std::vector<std::string>& allowed = original->relation_oids();
  for (const std::string& oid : rewritten->relation_oids()) {
    if (!std::binary_search(allowed.begin(), allowed.end(), oid)) {
      return Rejected("rewritten: reads a relation the original does not read");
    }
  }
  auto before = pg::GenericPlanCost(*session_, *original);
  if (!before.ok()) return Rejected("original could not be planned: " + OneLine(before.error()));
  auto after = pg::GenericPlanCost(*session_, *rewritten);
  if (!after.ok()) return Rejected("rewritten could not be planned: " + OneLine(after.error()));
  const std::string detail = "advice only, nothing changed: estimated cost " +
                             std::to_string(*before) + " (original) vs " + std::to_string(*after) +
                             " (rewritten); change the application to use the rewritten query";
  if (auto audited = Audit(rec.id, AuditStep::kVerifyPassed, detail); !audited.ok()) {
    return std::move(audited).error();
  }
  return ApplyOutcome{protocol::LifecycleEvent::kVerified, detail};
}

}  // namespace optischema::applier

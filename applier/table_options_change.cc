#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "applier/executor.h"
#include "applier/executor_support.h"
#include "pg/query_rows.h"
#include "pg/sql_identifier.h"
#include "protocol/table_options_allow_list.h"

namespace optischema::applier {
namespace {

using executor_support::OneLine;
using executor_support::Q;
using executor_support::Rejected;

// One option of the spec, as the agent writes it.
struct OptionChange {
  const protocol::TableOptionRule* rule = nullptr;
  std::string name;  // as in ALTER TABLE: rule name, "toast." for the TOAST's
  bool toast = false;
  std::string value;                    // CanonicalTableOptionValue
  std::optional<std::string> previous;  // exactly as pg_class.reloptions held it; none: unset
};

// "a, b" of the options' `name = value` (SET) or names (RESET).
std::string List(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Whether `previous` reads as `change.value` under the option's rule: setting it changes nothing.
bool AlreadySet(const OptionChange& change) {
  if (!change.previous) return false;
  auto current = protocol::CanonicalTableOptionValue(*change.rule, *change.previous);
  return current.ok() && *current == change.value;
}

}  // namespace

Result<ApplyOutcome> Executor::SetTableOptions(const CheckedRecommendation& checked) {
  const protocol::Recommendation& rec = checked.recommendation;
  const auto& spec = std::get<protocol::SetTableOptionsSpec>(rec.spec);
  const std::string relation = Q(spec.schema) + "." + Q(spec.table);

  // The parser checked names and values already; the SQL below is built from this reading only.
  std::vector<OptionChange> changes;
  bool toast = false;
  for (const auto& [name, value] : spec.options) {
    const auto option = protocol::FindTableOption(name);
    if (!option) return Rejected("an option is not on the agent's allow-list of table options");
    auto canonical = protocol::CanonicalTableOptionValue(*option->rule, value);
    if (!canonical.ok()) {
      return Rejected("option " + std::string(option->rule->name) + ": " +
                      canonical.error().message);
    }
    OptionChange change;
    change.rule = option->rule;
    change.toast = option->toast;
    change.name = (option->toast ? std::string(protocol::kToastPrefix) : std::string()) +
                  std::string(option->rule->name);
    change.value = *std::move(canonical);
    changes.push_back(std::move(change));
    toast = toast || option->toast;
  }
  if (changes.empty()) return Rejected("no option to set");

  auto target = executor_support::FindTargetTable(*session_, spec.schema, spec.table);
  RETURN_IF_ERROR(target);
  if (!target->refusal.empty()) return Rejected(target->refusal);
  if (target->relkind == 'p') {
    return Rejected(relation +
                    " is a partitioned table: it holds no rows and PostgreSQL takes no autovacuum "
                    "options for it; set them on its partitions");
  }
  if (!target->owned) {
    return Rejected("the role neither owns " + relation +
                    " nor is a member of its owner role, so it may not ALTER it; nothing was "
                    "changed");
  }
  if (toast && target->toast_oid == "0") {
    return Rejected(relation +
                    " has no TOAST table, so PostgreSQL would ignore the toast.* options; "
                    "nothing was changed");
  }

  // The options in place now, of the table and of its TOAST table.
  auto current = pg::QueryRows(
      *session_,
      "SELECT 'table', o.option_name, o.option_value FROM pg_catalog.pg_class c, "
      "pg_catalog.pg_options_to_table(c.reloptions) o WHERE c.oid = $1::oid UNION ALL SELECT "
      "'toast', o.option_name, o.option_value FROM pg_catalog.pg_class c, "
      "pg_catalog.pg_options_to_table(c.reloptions) o WHERE c.oid = $2::oid",
      {target->oid, target->toast_oid});
  RETURN_IF_ERROR(current);
  std::map<std::pair<bool, std::string>, std::string> in_place;  // (toast, name) -> value
  for (const pg::Row& row : *current) {
    in_place[{row[0] == "toast", row[1].value_or("")}] = row[2].value_or("");
  }
  bool noop = true;
  std::vector<std::string> set;
  std::vector<std::string> restore;
  std::vector<std::string> reset;
  std::string described;
  for (OptionChange& change : changes) {
    const auto found = in_place.find({change.toast, std::string(change.rule->name)});
    if (found != in_place.end()) change.previous = found->second;
    noop = noop && AlreadySet(change);
    set.push_back(change.name + " = " + pg::QuoteLiteral(change.value));
    if (change.previous) {
      restore.push_back(change.name + " = " + pg::QuoteLiteral(*change.previous));
    } else {
      reset.push_back(change.name);
    }
    described += (described.empty() ? "" : ", ") + change.name + " " + change.value + " (was " +
                 (change.previous ? *change.previous : std::string("unset")) + ")";
  }
  if (noop) {
    const std::string detail = "no-op: the options of " + relation + " already have these values";
    if (auto audited = Audit(rec.id, AuditStep::kNoop, detail); !audited.ok()) {
      return std::move(audited).error();
    }
    return ApplyOutcome{protocol::LifecycleEvent::kApplied, detail, /*noop=*/true};
  }

  const std::string sql = "ALTER TABLE " + relation + " SET (" + List(set) + ")";
  std::string rollback = "ALTER TABLE " + relation;
  if (!restore.empty()) rollback += " SET (" + List(restore) + ")";
  if (!reset.empty())
    rollback += std::string(restore.empty() ? "" : ",") + " RESET (" + List(reset) + ")";
  const std::string options = "options of " + relation + ": " + described;
  if (auto audited = Audit(rec.id, AuditStep::kStarted, "setting " + options, sql, rollback);
      !audited.ok()) {
    return std::move(audited).error();
  }
  if (Status altered = RunWithLockRetries(
          executor_support::WithStatementTimeout(sql, executor_support::kTableOptionsTimeout), "");
      !altered.ok()) {
    const std::string detail = "ALTER TABLE failed: " + OneLine(altered.error());
    if (auto audited = Audit(rec.id, AuditStep::kFailed, detail); !audited.ok()) {
      return std::move(audited).error();
    }
    return ApplyOutcome{protocol::LifecycleEvent::kFailed, detail};
  }
  const std::string detail = "set " + options;
  if (auto audited = Audit(rec.id, AuditStep::kApplied, detail, sql, rollback); !audited.ok()) {
    return std::move(audited).error();
  }
  return ApplyOutcome{protocol::LifecycleEvent::kApplied, detail};
}

}  // namespace optischema::applier

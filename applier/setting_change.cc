#include <algorithm>
#include <cctype>
#include <exception>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "applier/executor.h"
#include "applier/executor_support.h"
#include "pg/query_rows.h"
#include "pg/sql_identifier.h"

namespace optischema::applier {

namespace executor_support {

Status Reload(pg::PgSession& session) {
  auto result = session.Query("SELECT pg_catalog.pg_reload_conf()");
  RETURN_IF_ERROR(result);
  return OkStatus();
}

}  // namespace executor_support

namespace {

using executor_support::OneLine;
using executor_support::Q;
using executor_support::Rejected;
using executor_support::Reload;

}  // namespace

Result<std::vector<std::string>> MissingSetConfigGrants(pg::PgSession& session,
                                                        const std::string& setting) {
  auto role_row = pg::QueryRows(session,
                                "SELECT pg_catalog.current_setting('server_version_num')::int >= "
                                "150000, r.rolsuper, current_user FROM pg_catalog.pg_roles r WHERE "
                                "r.rolname = current_user");
  RETURN_IF_ERROR(role_row);
  if (role_row->empty()) {
    return MakeError(ErrorCode::kQueryFailed, "the role's privileges could not be read");
  }
  const bool pg15 = (*role_row)[0][0] == "t";
  const bool superuser = (*role_row)[0][1] == "t";
  const std::string role = pg::QuoteIdentifier((*role_row)[0][2].value_or("?"));
  if (superuser) return std::vector<std::string>{};
  if (!pg15) return std::vector<std::string>{"ALTER ROLE " + role + " SUPERUSER"};
  auto granted = pg::QueryRows(
      session,
      "SELECT pg_catalog.has_parameter_privilege($1, 'ALTER SYSTEM'), "
      "pg_catalog.has_function_privilege('pg_catalog.pg_reload_conf()', 'EXECUTE'), "
      "pg_catalog.has_table_privilege('pg_catalog.pg_file_settings', 'SELECT'), "
      "pg_catalog.has_function_privilege('pg_catalog.pg_show_all_file_settings()', 'EXECUTE')",
      {setting});
  RETURN_IF_ERROR(granted);
  const pg::Row& row = (*granted)[0];
  std::vector<std::string> grants;
  if (row[0] != "t") {
    grants.push_back("GRANT ALTER SYSTEM ON PARAMETER " + pg::QuoteIdentifier(setting) + " TO " +
                     role);
  }
  if (row[1] != "t") {
    grants.push_back("GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO " + role);
  }
  if (row[2] != "t") grants.push_back("GRANT SELECT ON pg_catalog.pg_file_settings TO " + role);
  if (row[3] != "t") {
    grants.push_back("GRANT EXECUTE ON FUNCTION pg_catalog.pg_show_all_file_settings() TO " + role);
  }
  return grants;
}

Result<std::string> MissingSetConfigPrivileges(pg::PgSession& session, const std::string& setting) {
  auto grants = MissingSetConfigGrants(session, setting);
  RETURN_IF_ERROR(grants);
  if (grants->empty()) return std::string();
  if (grants->front().starts_with("ALTER ROLE")) {
    return std::string(
        "only a superuser may use ALTER SYSTEM before PostgreSQL 15, and the role is none; "
        "nothing was changed");
  }
  std::string fix;
  for (const std::string& grant : *grants) fix += (fix.empty() ? "" : " ") + grant + ";";
  return "the role lacks a privilege set_config needs, so nothing was changed; fix: " + fix;
}

Result<ApplyOutcome> Executor::SetConfig(const CheckedRecommendation& checked) {
  const protocol::Recommendation& rec = checked.recommendation;
  const auto& spec = std::get<protocol::SetConfigSpec>(rec.spec);
  auto setting =
      pg::QueryRows(*session_,
                    "SELECT vartype, context, coalesce(min_val, ''), coalesce(max_val, ''), "
                    "coalesce(pg_catalog.array_to_string(enumvals, ','), '') FROM "
                    "pg_catalog.pg_settings WHERE name = $1",
                    {spec.name});
  RETURN_IF_ERROR(setting);
  if (setting->empty()) return Rejected("unknown setting " + spec.name.substr(0, 63));
  const pg::Row& row = (*setting)[0];
  const std::string vartype = row[0].value_or("");
  const std::string context = row[1].value_or("");
  if (context == "internal") return Rejected("setting " + spec.name + " cannot be changed");
  if (vartype == "enum" || vartype == "bool") {
    std::vector<std::string> allowed;
    const std::string values =
        vartype == "bool" ? "on,off,true,false,yes,no,1,0" : row[4].value_or("");
    std::size_t from = 0;
    while (from <= values.size()) {
      const std::size_t comma = values.find(',', from);
      allowed.push_back(values.substr(from, comma == std::string::npos ? comma : comma - from));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    std::string lower = spec.value;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::find(allowed.begin(), allowed.end(), lower) == allowed.end()) {
      return Rejected("value for " + spec.name + " must be one of: " + values);
    }
  } else if ((vartype == "integer" || vartype == "real") && !spec.value.empty() &&
             spec.value.find_first_not_of("0123456789.-") == std::string::npos) {
    try {
      const double value = std::stod(spec.value);
      if ((!row[2]->empty() && value < std::stod(*row[2])) ||
          (!row[3]->empty() && value > std::stod(*row[3]))) {
        return Rejected("value for " + spec.name + " must be between " + *row[2] + " and " +
                        *row[3]);
      }
    } catch (const std::exception&) {
      return Rejected("value for " + spec.name + " is not a number");
    }
  }
  // Every privilege the steps below need, before any of them runs: a change is made and
  // reported, or not made.
  auto missing = MissingSetConfigPrivileges(*session_, spec.name);
  RETURN_IF_ERROR(missing);
  if (!missing->empty()) return Rejected(*missing);
  // The value ALTER SYSTEM set before, if any: the rollback restores it, or resets the setting.
  auto previous =
      pg::QueryRows(*session_,
                    "SELECT setting FROM pg_catalog.pg_file_settings WHERE name = $1 AND "
                    "sourcefile LIKE '%postgresql.auto.conf' ORDER BY seqno DESC LIMIT 1",
                    {spec.name});
  RETURN_IF_ERROR(previous);
  const std::string name = Q(spec.name);
  const std::string rollback =
      previous->empty()
          ? "ALTER SYSTEM RESET " + name
          : "ALTER SYSTEM SET " + name + " = " + pg::QuoteLiteral((*previous)[0][0].value_or(""));
  const std::string sql = "ALTER SYSTEM SET " + name + " = " + pg::QuoteLiteral(spec.value);
  if (auto audited = Audit(rec.id, AuditStep::kStarted, "changing " + spec.name, sql, rollback);
      !audited.ok()) {
    return std::move(audited).error();
  }
  Status changed = RunWithLockRetries(sql, "");
  std::string detail;
  if (!changed.ok()) {
    detail = "ALTER SYSTEM failed: " + OneLine(changed.error());
  } else if (changed = Reload(*session_); !changed.ok()) {
    // postgresql.auto.conf holds the new value already and the next reload would apply it
    // behind the audit log: put the previous state back.
    detail = "configuration reload failed: " + OneLine(changed.error());
    Status undone = RunWithLockRetries(rollback, "");
    detail += undone.ok() ? "; the ALTER SYSTEM was undone (" + rollback + "), nothing changed"
                          : "; undoing the ALTER SYSTEM failed too (" + OneLine(undone.error()) +
                                "): postgresql.auto.conf holds the new value until `" + rollback +
                                "` is run";
  }
  if (!changed.ok()) {
    if (auto audited = Audit(rec.id, AuditStep::kFailed, detail); !audited.ok()) {
      return std::move(audited).error();
    }
    return ApplyOutcome{protocol::LifecycleEvent::kFailed, detail};
  }
  auto pending = pg::QueryRows(
      *session_, "SELECT pending_restart::text FROM pg_catalog.pg_settings WHERE name = $1",
      {spec.name});
  const bool pending_restart = pending.ok() && !pending->empty() && (*pending)[0][0] == "true";
  detail = spec.name + " set and configuration reloaded" +
           (pending_restart || context == "postmaster"
                ? "; pending_restart: takes effect after a PostgreSQL restart"
                : "");
  if (auto audited = Audit(rec.id, AuditStep::kApplied, detail, sql, rollback); !audited.ok()) {
    return std::move(audited).error();
  }
  return ApplyOutcome{protocol::LifecycleEvent::kApplied, detail};
}

}  // namespace optischema::applier

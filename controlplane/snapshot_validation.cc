#include "controlplane/snapshot_validation.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "controlplane/activity_validation.h"
#include "controlplane/message_validation.h"
#include "controlplane/plan_validation.h"
#include "protocol/snapshot.h"

namespace optischema::controlplane {
namespace {

constexpr std::size_t kMaxSnapshotIdLength = 64;

bool IsSnapshotId(std::string_view id) {
  if (id.empty() || id.size() > kMaxSnapshotIdLength) return false;
  for (const char c : id) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsDecimalInt64(std::string_view text) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// Every window counter of a statement: counts as non-negative integers, times and bytes as
// non-negative numbers (the wire types of protocol::WindowCounters).
Status CheckStatementCounters(const FieldChecker& fields) {
  Status result = OkStatus();
  protocol::WindowCounters counters;
  protocol::ForEachCounter(
      [&](const char* name, const auto& value) {
        if (!result.ok()) return;
        if constexpr (std::is_integral_v<std::decay_t<decltype(value)>>) {
          result = fields.NonNegativeInteger(name, true);
        } else {
          result = fields.NonNegativeNumber(name, true);
        }
      },
      counters);
  if (!result.ok()) return result;
  // The extra counters are optional: a snapshot has those of its server's extension version.
  for (const protocol::ExtraCounterSpec& c : protocol::kExtraCounters) {
    result = c.integer ? fields.NonNegativeInteger(c.name, false)
                       : fields.NonNegativeNumber(c.name, false);
    if (!result.ok()) return result;
  }
  return result;
}

Status CheckStatement(const nlohmann::json& statement, const std::string& where) {
  const FieldChecker fields(statement, where);
  auto queryid = fields.String("queryid");
  RETURN_IF_ERROR(queryid);
  if (!IsDecimalInt64(*queryid)) {
    return fields.Invalid("queryid", "expected a decimal 64-bit integer in a string");
  }
  if (Status st = fields.OptionalStringOrNull("text"); !st.ok()) return st;
  auto source = fields.Get("text_source", false);
  RETURN_IF_ERROR(source);
  if (*source != nullptr && **source != protocol::TextSourceName(protocol::TextSource::kParser) &&
      **source != protocol::TextSourceName(protocol::TextSource::kScanner)) {
    return fields.Invalid("text_source", "expected \"parser\" or \"scanner\"");
  }
  if (Status st = fields.NonNegativeInteger("userid", false); !st.ok()) return st;
  if (Status st = fields.Boolean("toplevel", false); !st.ok()) return st;
  if (Status st = CheckStatementCounters(fields); !st.ok()) return st;
  for (const char* key :
       {"mean_exec_time_ms", "cumulative_min_exec_time_ms", "cumulative_max_exec_time_ms",
        "cumulative_stddev_exec_time_ms", "time_pct", "score", "sample_weight"}) {
    if (Status st = fields.NonNegativeNumber(key, false); !st.ok()) return st;
  }
  return OkStatus();
}

// The remainder's counters are numbers of any sign; its statement counts are non-negative.
Status CheckRemainder(const nlohmann::json& remainder) {
  const FieldChecker fields(remainder, "remainder");
  for (const char* key : {"statements", "unclassified_statements"}) {
    if (Status st = fields.NonNegativeInteger(key, false); !st.ok()) return st;
  }
  Status result = OkStatus();
  protocol::WeightedCounters counters;
  protocol::ForEachCounter(
      [&](const char* name, const auto&) {
        if (result.ok()) result = fields.Number(name, false);
      },
      counters);
  for (const protocol::ExtraCounterSpec& c : protocol::kExtraCounters) {
    if (result.ok()) result = fields.Number(c.name, false);
  }
  return result;
}

// Table health and vacuum findings (protocol/advice.h): typed and bounded. An agent reads at
// most 2,000 tables (advisor/table_health_reader.h) and finds at most five problems per table.
constexpr std::size_t kMaxHealthTables = 2000;
constexpr std::size_t kMaxVacuumFindings = 5 * kMaxHealthTables;

Status QueryIdStrings(const FieldChecker& fields, const char* key) {
  auto ids = fields.Array(key);
  RETURN_IF_ERROR(ids);
  for (const nlohmann::json& id : **ids) {
    if (!id.is_string() || !IsDecimalInt64(id.get_ref<const std::string&>())) {
      return fields.Invalid(key, "expected decimal 64-bit integers in strings");
    }
  }
  return OkStatus();
}

Status CheckTableHealth(const nlohmann::json& health) {
  const FieldChecker fields(health, "table_health");
  if (Status st = fields.Object("settings", true); !st.ok()) return st;
  if (Status st = fields.NonNegativeInteger("tables_omitted", true); !st.ok()) return st;
  auto tables = fields.Array("tables");
  RETURN_IF_ERROR(tables);
  if ((*tables)->size() > kMaxHealthTables) {
    return fields.Invalid("tables", "more than " + std::to_string(kMaxHealthTables) + " tables");
  }
  for (std::size_t i = 0; i < (*tables)->size(); ++i) {
    const nlohmann::json& table = (**tables)[i];
    const std::string where = "table_health.tables[" + std::to_string(i) + "]";
    if (!table.is_object()) return fields.Invalid("tables", "expected objects");
    const FieldChecker t(table, where);
    for (const char* key : {"schema", "table"}) {
      if (auto name = t.String(key); !name.ok()) return std::move(name).error();
    }
    if (Status st = t.Number("reltuples", true); !st.ok()) return st;
    for (const char* key : {"n_live_tup", "n_dead_tup", "n_mod_since_analyze",
                            "n_ins_since_vacuum", "vacuum_count", "autovacuum_count",
                            "table_bytes", "toast_bytes", "xid_age", "mxid_age"}) {
      if (Status st = t.NonNegativeInteger(key, true); !st.ok()) return st;
    }
    for (const char* key : {"last_vacuum_age_s", "last_autovacuum_age_s", "last_analyze_age_s",
                            "last_autoanalyze_age_s"}) {
      auto age = t.Get(key, true);
      RETURN_IF_ERROR(age);
      if (!(*age)->is_null()) {
        if (Status st = t.NonNegativeNumber(key, true); !st.ok()) return st;
      }
    }
    if (Status st = t.Object("options", true); !st.ok()) return st;
    for (const auto& [name, value] : table["options"].items()) {
      if (!value.is_string()) return t.Invalid("options", "expected string values");
    }
    if (Status st = QueryIdStrings(t, "read_by"); !st.ok()) return st;
  }
  return OkStatus();
}

Status CheckVacuumFindings(const nlohmann::json& findings) {
  if (findings.size() > kMaxVacuumFindings) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "vacuum_findings: more than " + std::to_string(kMaxVacuumFindings));
  }
  for (std::size_t i = 0; i < findings.size(); ++i) {
    const nlohmann::json& finding = findings[i];
    const std::string where = "vacuum_findings[" + std::to_string(i) + "]";
    if (!finding.is_object()) {
      return MakeError(ErrorCode::kInvalidArgument, where + ": expected an object");
    }
    const FieldChecker f(finding, where);
    auto kind = f.String("kind");
    RETURN_IF_ERROR(kind);
    if (*kind != "dead_tuples" && *kind != "wraparound" && *kind != "stale_statistics" &&
        *kind != "vacuum_not_keeping_up") {
      return f.Invalid("kind", "expected dead_tuples, wraparound, stale_statistics or "
                               "vacuum_not_keeping_up");
    }
    for (const char* key : {"schema", "table", "severity", "metric", "reason"}) {
      if (auto text = f.String(key); !text.ok()) return std::move(text).error();
    }
    for (const char* key : {"value", "threshold"}) {
      if (Status st = f.NonNegativeInteger(key, true); !st.ok()) return st;
    }
    auto since = f.Get("since_s", true);
    RETURN_IF_ERROR(since);
    if (!(*since)->is_null()) {
      if (Status st = f.NonNegativeNumber("since_s", true); !st.ok()) return st;
    }
    if (Status st = QueryIdStrings(f, "queryids"); !st.ok()) return st;
  }
  return OkStatus();
}

}  // namespace

Result<SnapshotRecord> ValidateSnapshot(const nlohmann::json& snapshot,
                                        std::string_view path_agent_id,
                                        std::string_view idempotency_key) {
  if (Status st = CheckProtocol(snapshot); !st.ok()) return std::move(st).error();
  const FieldChecker fields(snapshot, "");
  SnapshotRecord record;

  auto snapshot_id = fields.String("snapshot_id");
  RETURN_IF_ERROR(snapshot_id);
  if (!IsSnapshotId(*snapshot_id)) {
    return fields.Invalid("snapshot_id", "expected 1 to 64 letters, digits or '-'");
  }
  if (!idempotency_key.empty() && idempotency_key != *snapshot_id) {
    return fields.Invalid("snapshot_id", "differs from the Idempotency-Key header");
  }
  auto agent_id = fields.String("agent_id");
  RETURN_IF_ERROR(agent_id);
  if (*agent_id != path_agent_id) {
    return fields.Invalid("agent_id", "differs from the agent in the request path");
  }
  auto database = fields.NonEmptyString("database");
  RETURN_IF_ERROR(database);
  auto collected_at = fields.NonEmptyString("collected_at");
  RETURN_IF_ERROR(collected_at);
  if (Status st = fields.NonNegativeNumber("window_s", true); !st.ok())
    return std::move(st).error();
  for (const char* key : {"server", "kpis", "remainder", "sampling"}) {
    if (Status st = fields.Object(key, false); !st.ok()) return std::move(st).error();
  }
  // The advice members (protocol/advice.h), only in snapshots taken when the advisor ran; their
  // contents are for people, except proposals (agent_proposals.h checks each element itself).
  for (const char* key : {"index_stats", "schema", "advisor"}) {
    if (Status st = fields.Object(key, false); !st.ok()) return std::move(st).error();
  }
  for (const char* key : {"indexes", "index_findings", "proposals"}) {
    if (Status st = fields.OptionalArray(key); !st.ok()) return std::move(st).error();
  }
  if (Status st = fields.OptionalArray("plans"); !st.ok()) return std::move(st).error();
  if (const auto plans = snapshot.find("plans"); plans != snapshot.end()) {
    if (Status st = CheckStatementPlans(*plans); !st.ok()) return std::move(st).error();
  }
  if (Status st = fields.Object("table_health", false); !st.ok()) return std::move(st).error();
  if (const auto health = snapshot.find("table_health"); health != snapshot.end()) {
    if (Status st = CheckTableHealth(*health); !st.ok()) return std::move(st).error();
  }
  if (Status st = fields.OptionalArray("vacuum_findings"); !st.ok()) return std::move(st).error();
  if (const auto findings = snapshot.find("vacuum_findings"); findings != snapshot.end()) {
    if (Status st = CheckVacuumFindings(*findings); !st.ok()) return std::move(st).error();
  }
  if (Status st = fields.NonNegativeInteger("excluded_statements", false); !st.ok()) {
    return std::move(st).error();
  }
  if (Status st = fields.Object("activity", false); !st.ok()) return std::move(st).error();
  if (const auto activity = snapshot.find("activity"); activity != snapshot.end()) {
    if (Status st = CheckActivity(*activity); !st.ok()) return std::move(st).error();
  }

  auto statements = fields.Array("statements");
  RETURN_IF_ERROR(statements);
  for (std::size_t i = 0; i < (*statements)->size(); ++i) {
    const nlohmann::json& statement = (**statements)[i];
    const std::string where = "statements[" + std::to_string(i) + "]";
    if (!statement.is_object()) return fields.Invalid(where, "expected an object");
    if (Status st = CheckStatement(statement, where); !st.ok()) return std::move(st).error();
  }
  if (const auto remainder = snapshot.find("remainder"); remainder != snapshot.end()) {
    if (Status st = CheckRemainder(*remainder); !st.ok()) return std::move(st).error();
  }

  record.agent_id = std::move(*agent_id);
  record.snapshot_id = std::move(*snapshot_id);
  record.database = std::move(*database);
  record.collected_at = std::move(*collected_at);
  record.statements = static_cast<int64_t>((*statements)->size());
  return record;
}

}  // namespace optischema::controlplane

#pragma once

// Protocol v1 advice: what the agent's index advisor found about one database, carried by the
// snapshot taken when the advisor ran (every advisor.interval) and printed by
// `optischema-agent advise`. Plain data; every field name lives in advice_json.cc.
//
// Wire form (all members of the snapshot object, present only in snapshots carrying advice):
//   index_stats     {stats_since, stats_age_s, stats_since_source, window_s|null}
//   indexes         [IndexStat]          every index of the user's schemas
//   index_findings  [IndexFinding]       unused, redundant, invalid, insufficient_history
//   schema          {full, digests{"schema.table": digest}, tables[TableSchema], drift[Drift]}
//   proposals       [IndexProposal]      create_index for missing, drop_index for unused/redundant
//   advisor         {hypopg, notes[], skipped[{queryid, reason}]}
//   plans           [StatementPlan]      the top statements' plan fingerprints, and plans
//                                        when new or changed (statement_plan.h)
//   table_health    {settings{...}, tables[TableHealth], tables_omitted}
//   vacuum_findings [VacuumFinding]      dead_tuples, wraparound, stale_statistics,
//                                        vacuum_not_keeping_up
//   (proposals also carries set_table_options and analyze_table from the vacuum findings)
// Text from the database that may hold literals (column defaults, index and constraint
// definitions) is anonymized like statement texts before it is put here.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/statement_plan.h"

namespace optischema::protocol {

struct IndexStat {
  std::string schema;
  std::string table;
  std::string name;
  std::string method;                // btree, hash, gin...
  std::vector<std::string> columns;  // key columns; an expression is "(expression)"
  int64_t size_bytes = 0;
  int64_t scans = 0;                         // idx_scan since the statistics began
  std::optional<int64_t> scans_window;       // since the previous advisor run; none at the first
  std::optional<double> table_writes_per_s;  // inserts + updates + deletes of its table, same
  bool valid = true;                         // indisvalid
  bool ready = true;                         // indisready: maintained by writes
  bool unique = false;
  bool primary = false;
  bool backs_constraint = false;  // primary key, unique or exclusion constraint
  bool partial = false;           // has a WHERE predicate
  bool being_built = false;       // a CREATE INDEX is running for it right now
};

// How old the index statistics are: since pg_stat_database.stats_reset, or since the server
// started when they were never reset (a lower bound: statistics may be older).
struct IndexStatsInfo {
  std::string stats_since;  // RFC 3339
  double stats_age_s = 0;
  std::string stats_since_source;  // "stats_reset" or "server_start"
  std::optional<double> window_s;  // length of the scans/writes window; none at the first run
};

enum class FindingKind { kUnused, kRedundant, kInvalid, kInsufficientHistory };
// "unused", "redundant", "invalid", "insufficient_history".
const char* FindingKindName(FindingKind kind);

struct IndexFinding {
  FindingKind kind = FindingKind::kUnused;
  std::string schema;
  std::string table;
  std::string index;
  int64_t bytes = 0;                      // freed by dropping it
  std::optional<double> writes_per_s;     // writes that maintain it (its table's write rate)
  std::optional<std::string> covered_by;  // redundant: the index that makes it so
  std::string reason;                     // one sentence for people
};

struct ColumnSchema {
  std::string name;
  std::string type;  // format_type, e.g. "character varying(20)"
  bool not_null = false;
  std::optional<std::string> default_value;  // anonymized expression
};

struct NamedDefinition {
  std::string name;
  std::string definition;  // anonymized
};

struct TableSchema {
  std::string schema;
  std::string name;
  std::string kind;  // "table", "partitioned_table", "materialized_view"
  std::string digest;
  std::vector<ColumnSchema> columns;  // in column order
  std::vector<NamedDefinition> indexes;
  std::vector<NamedDefinition> constraints;
};

// One difference between the previous schema snapshot and this one.
struct SchemaDrift {
  std::string table;   // "schema.table"
  std::string change;  // table_added, table_removed, column_added, column_removed,
                       // column_changed, index_added, index_removed, index_changed,
                       // constraint_added, constraint_removed, constraint_changed, and
                       // table_changed (a change anonymization hides, e.g. in a literal)
  std::string name;    // the column, index or constraint; empty for table changes
  std::string detail;  // e.g. "integer → bigint", "NOT NULL added"
};

struct SchemaReport {
  bool full = false;                           // tables holds every table
  std::map<std::string, std::string> digests;  // "schema.table" -> digest, every table
  std::vector<TableSchema> tables;             // all (full) or the added and changed ones
  std::vector<SchemaDrift> drift;              // empty at the first report
};

struct ProposalStatement {
  int64_t queryid = 0;
  double cost_before = 0;
  double cost_after = 0;
};

// A change the advisor proposes; the control plane stores it as a `proposed` recommendation of
// `kind` with `spec` (protocol/recommendation.h) for a person to approve. Index changes carry the
// index members; set_table_options carries `table_options`; analyze_table only schema and table.
struct IndexProposal {
  std::string kind;  // "create_index", "drop_index", "set_table_options" or "analyze_table"
  std::string schema;
  std::string table;
  // set_table_options: reloption name -> value, plain decimal text or "true"/"false".
  std::map<std::string, std::string> table_options;
  std::vector<int64_t> queryids;  // set_table_options, analyze_table: top statements reading it
  std::vector<std::string> columns;  // create_index: btree key columns
  std::string index;                 // drop_index: the index to drop
  std::string table_digest;          // the applier refuses the change once the table drifted
  std::vector<ProposalStatement> statements;  // create_index: the statements it helps
  double cost_before = 0;                     // sums over `statements`
  double cost_after = 0;
  double saving_pct = 0;
  int64_t index_size_bytes = 0;  // create: hypopg_relation_size; drop: bytes freed
  std::string reason;            // one sentence for the person who approves it
};

// The server's autovacuum settings (pg_settings) that decide when a table is vacuumed, analyzed
// and frozen; a table's own reloptions override them (TableHealth::options).
struct AutovacuumSettings {
  bool autovacuum = true;
  int64_t vacuum_threshold = 50;
  double vacuum_scale_factor = 0.2;
  int64_t analyze_threshold = 50;
  double analyze_scale_factor = 0.1;
  int64_t freeze_max_age = 200000000;
  int64_t multixact_freeze_max_age = 400000000;
};

// One table (or materialized view) of the user's schemas: its vacuum and analyze state.
// Ages are seconds before the reading; none when it never happened.
struct TableHealth {
  std::string schema;
  std::string name;
  double reltuples = -1;  // pg_class.reltuples: the planner's row estimate; -1 never counted
  int64_t live_tuples = 0;        // n_live_tup
  int64_t dead_tuples = 0;        // n_dead_tup
  int64_t mod_since_analyze = 0;  // n_mod_since_analyze
  int64_t ins_since_vacuum = 0;   // n_ins_since_vacuum
  std::optional<double> last_vacuum_age_s;
  std::optional<double> last_autovacuum_age_s;
  std::optional<double> last_analyze_age_s;
  std::optional<double> last_autoanalyze_age_s;
  int64_t vacuum_count = 0;
  int64_t autovacuum_count = 0;
  int64_t table_bytes = 0;  // pg_table_size: heap, free space and visibility maps, TOAST
  int64_t toast_bytes = 0;  // pg_relation_size of its TOAST table; 0 when none
  int64_t xid_age = 0;      // age(relfrozenxid)
  int64_t mxid_age = 0;     // mxid_age(relminmxid)
  // Its autovacuum reloptions (allow-listed names; TOAST ones prefixed "toast."), values as
  // plain decimal text or "true"/"false".
  std::map<std::string, std::string> options;
  std::vector<int64_t> read_by;  // queryids of top statements reading it, when known
};

struct TableHealthReport {
  AutovacuumSettings settings;
  std::vector<TableHealth> tables;  // tables with findings first, then by dead tuples
  int64_t tables_omitted = 0;       // user tables past the reading's bound, not read
};

enum class VacuumFindingKind { kDeadTuples, kWraparound, kStaleStatistics, kVacuumNotKeepingUp };
// "dead_tuples", "wraparound", "stale_statistics", "vacuum_not_keeping_up".
const char* VacuumFindingKindName(VacuumFindingKind kind);

// A table whose vacuum or analyze state needs attention, with the figure that crossed the
// threshold (advisor/vacuum_findings.h has the rules).
struct VacuumFinding {
  VacuumFindingKind kind = VacuumFindingKind::kDeadTuples;
  std::string schema;
  std::string table;
  std::string severity;   // "warning" or "critical"
  std::string metric;     // n_dead_tup, age(relfrozenxid), mxid_age(relminmxid),
                          // n_mod_since_analyze
  int64_t value = 0;      // the metric now
  int64_t threshold = 0;  // the threshold it crossed
  std::optional<double> since_s;  // since the last (auto)vacuum or (auto)analyze; none: never
  std::vector<int64_t> queryids;  // top statements reading the table, when known
  std::string reason;             // one sentence for people
};

struct SkippedStatement {
  int64_t queryid = 0;
  std::string reason;
};

struct Advice {
  IndexStatsInfo stats;
  std::vector<IndexStat> indexes;
  std::vector<IndexFinding> findings;
  std::optional<SchemaReport> schema;
  std::vector<IndexProposal> proposals;
  bool hypopg = false;             // proposals need the hypopg extension
  std::vector<std::string> notes;  // e.g. how to enable HypoPG
  std::vector<SkippedStatement> skipped;
  std::vector<StatementPlan> plans;  // the top statements' (statement_plan.h)
  std::optional<TableHealthReport> table_health;  // none when it could not be read
  std::vector<VacuumFinding> vacuum_findings;
};

}  // namespace optischema::protocol

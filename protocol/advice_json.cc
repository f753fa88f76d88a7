#include "protocol/advice_json.h"

#include "protocol/statement_plan_json.h"

namespace optischema::protocol {

const char* FindingKindName(FindingKind kind) {
  switch (kind) {
    case FindingKind::kUnused:
      return "unused";
    case FindingKind::kRedundant:
      return "redundant";
    case FindingKind::kInvalid:
      return "invalid";
    case FindingKind::kInsufficientHistory:
      return "insufficient_history";
  }
  return "unused";
}

const char* VacuumFindingKindName(VacuumFindingKind kind) {
  switch (kind) {
    case VacuumFindingKind::kDeadTuples:
      return "dead_tuples";
    case VacuumFindingKind::kWraparound:
      return "wraparound";
    case VacuumFindingKind::kStaleStatistics:
      return "stale_statistics";
    case VacuumFindingKind::kVacuumNotKeepingUp:
      return "vacuum_not_keeping_up";
  }
  return "dead_tuples";
}

namespace {

void PutStrings(JsonWriter& w, const std::vector<std::string>& values) {
  w.BeginArray();
  for (const std::string& v : values) w.String(v);
  w.EndArray();
}

void PutStats(JsonWriter& w, const IndexStatsInfo& s) {
  w.BeginObject();
  w.Key("stats_since");
  w.String(s.stats_since);
  w.Key("stats_age_s");
  w.Double(s.stats_age_s);
  w.Key("stats_since_source");
  w.String(s.stats_since_source);
  w.Key("window_s");
  w.DoubleOrNull(s.window_s);
  w.EndObject();
}

void PutIndex(JsonWriter& w, const IndexStat& i) {
  w.BeginObject();
  w.Key("schema");
  w.String(i.schema);
  w.Key("table");
  w.String(i.table);
  w.Key("name");
  w.String(i.name);
  w.Key("method");
  w.String(i.method);
  w.Key("columns");
  PutStrings(w, i.columns);
  w.Key("size_bytes");
  w.Int(i.size_bytes);
  w.Key("scans");
  w.Int(i.scans);
  w.Key("scans_window");
  w.IntOrNull(i.scans_window);
  w.Key("table_writes_per_s");
  w.DoubleOrNull(i.table_writes_per_s);
  for (const auto& [key, value] :
       {std::pair{"valid", i.valid}, std::pair{"ready", i.ready}, std::pair{"unique", i.unique},
        std::pair{"primary", i.primary}, std::pair{"backs_constraint", i.backs_constraint},
        std::pair{"partial", i.partial}, std::pair{"being_built", i.being_built}}) {
    w.Key(key);
    w.Bool(value);
  }
  w.EndObject();
}

void PutFinding(JsonWriter& w, const IndexFinding& f) {
  w.BeginObject();
  w.Key("kind");
  w.String(FindingKindName(f.kind));
  w.Key("schema");
  w.String(f.schema);
  w.Key("table");
  w.String(f.table);
  w.Key("index");
  w.String(f.index);
  w.Key("bytes");
  w.Int(f.bytes);
  w.Key("writes_per_s");
  w.DoubleOrNull(f.writes_per_s);
  w.Key("covered_by");
  w.StringOrNull(f.covered_by);
  w.Key("reason");
  w.String(f.reason);
  w.EndObject();
}

void PutDefinitions(JsonWriter& w, const std::vector<NamedDefinition>& definitions) {
  w.BeginArray();
  for (const NamedDefinition& d : definitions) {
    w.BeginObject();
    w.Key("name");
    w.String(d.name);
    w.Key("definition");
    w.String(d.definition);
    w.EndObject();
  }
  w.EndArray();
}

void PutTable(JsonWriter& w, const TableSchema& t) {
  w.BeginObject();
  w.Key("schema");
  w.String(t.schema);
  w.Key("name");
  w.String(t.name);
  w.Key("kind");
  w.String(t.kind);
  w.Key("digest");
  w.String(t.digest);
  w.Key("columns");
  w.BeginArray();
  for (const ColumnSchema& c : t.columns) {
    w.BeginObject();
    w.Key("name");
    w.String(c.name);
    w.Key("type");
    w.String(c.type);
    w.Key("not_null");
    w.Bool(c.not_null);
    w.Key("default");
    w.StringOrNull(c.default_value);
    w.EndObject();
  }
  w.EndArray();
  w.Key("indexes");
  PutDefinitions(w, t.indexes);
  w.Key("constraints");
  PutDefinitions(w, t.constraints);
  w.EndObject();
}

void PutSchema(JsonWriter& w, const SchemaReport& s) {
  w.BeginObject();
  w.Key("full");
  w.Bool(s.full);
  w.Key("digests");
  w.BeginObject();
  for (const auto& [table, digest] : s.digests) {
    w.Key(table);
    w.String(digest);
  }
  w.EndObject();
  w.Key("tables");
  w.BeginArray();
  for (const TableSchema& t : s.tables) PutTable(w, t);
  w.EndArray();
  w.Key("drift");
  w.BeginArray();
  for (const SchemaDrift& d : s.drift) {
    w.BeginObject();
    w.Key("table");
    w.String(d.table);
    w.Key("change");
    w.String(d.change);
    w.Key("name");
    w.String(d.name);
    w.Key("detail");
    w.String(d.detail);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void PutProposal(JsonWriter& w, const IndexProposal& p) {
  w.BeginObject();
  w.Key("kind");
  w.String(p.kind);
  w.Key("spec");
  w.BeginObject();
  w.Key("schema");
  w.String(p.schema);
  if (p.kind == "create_index") {
    w.Key("table");
    w.String(p.table);
    w.Key("columns");
    PutStrings(w, p.columns);
    w.Key("method");
    w.String("btree");
  } else if (p.kind == "set_table_options" || p.kind == "analyze_table") {
    w.Key("table");
    w.String(p.table);
    if (p.kind == "set_table_options") {
      w.Key("options");
      w.BeginObject();
      for (const auto& [name, value] : p.table_options) {
        w.Key(name);
        w.String(value);
      }
      w.EndObject();
    }
  } else {
    w.Key("index");
    w.String(p.index);
  }
  w.EndObject();
  w.Key("table");
  w.String(p.table);
  w.Key("table_digest");
  w.String(p.table_digest);
  w.Key("affected_queryids");
  w.BeginArray();
  for (const ProposalStatement& s : p.statements) w.String(std::to_string(s.queryid));
  for (const int64_t queryid : p.queryids) w.String(std::to_string(queryid));
  w.EndArray();
  w.Key("statements");
  w.BeginArray();
  for (const ProposalStatement& s : p.statements) {
    w.BeginObject();
    w.Key("queryid");
    w.String(std::to_string(s.queryid));
    w.Key("cost_before");
    w.Double(s.cost_before);
    w.Key("cost_after");
    w.Double(s.cost_after);
    w.EndObject();
  }
  w.EndArray();
  w.Key("cost_before");
  w.Double(p.cost_before);
  w.Key("cost_after");
  w.Double(p.cost_after);
  w.Key("saving_pct");
  w.Double(p.saving_pct);
  w.Key("index_size_bytes");
  w.Int(p.index_size_bytes);
  w.Key("reason");
  w.String(p.reason);
  w.EndObject();
}

void PutQueryIds(JsonWriter& w, const std::vector<int64_t>& queryids) {
  w.BeginArray();
  for (const int64_t queryid : queryids) w.String(std::to_string(queryid));
  w.EndArray();
}

void PutTableHealth(JsonWriter& w, const TableHealthReport& r) {
  w.BeginObject();
  w.Key("settings");
  w.BeginObject();
  w.Key("autovacuum");
  w.Bool(r.settings.autovacuum);
  w.Key("autovacuum_vacuum_threshold");
  w.Int(r.settings.vacuum_threshold);
  w.Key("autovacuum_vacuum_scale_factor");
  w.Double(r.settings.vacuum_scale_factor);
  w.Key("autovacuum_analyze_threshold");
  w.Int(r.settings.analyze_threshold);
  w.Key("autovacuum_analyze_scale_factor");
  w.Double(r.settings.analyze_scale_factor);
  w.Key("autovacuum_freeze_max_age");
  w.Int(r.settings.freeze_max_age);
  w.Key("autovacuum_multixact_freeze_max_age");
  w.Int(r.settings.multixact_freeze_max_age);
  w.EndObject();
  w.Key("tables");
  w.BeginArray();
  for (const TableHealth& t : r.tables) {
    w.BeginObject();
    w.Key("schema");
    w.String(t.schema);
    w.Key("table");
    w.String(t.name);
    w.Key("reltuples");
    w.Double(t.reltuples);
    for (const auto& [key, value] :
         {std::pair{"n_live_tup", t.live_tuples}, std::pair{"n_dead_tup", t.dead_tuples},
          std::pair{"n_mod_since_analyze", t.mod_since_analyze},
          std::pair{"n_ins_since_vacuum", t.ins_since_vacuum},
          std::pair{"vacuum_count", t.vacuum_count},
          std::pair{"autovacuum_count", t.autovacuum_count},
          std::pair{"table_bytes", t.table_bytes}, std::pair{"toast_bytes", t.toast_bytes},
          std::pair{"xid_age", t.xid_age}, std::pair{"mxid_age", t.mxid_age}}) {
      w.Key(key);
      w.Int(value);
    }
    for (const auto& [key, value] : {std::pair{"last_vacuum_age_s", &t.last_vacuum_age_s},
                                     std::pair{"last_autovacuum_age_s", &t.last_autovacuum_age_s},
                                     std::pair{"last_analyze_age_s", &t.last_analyze_age_s},
                                     std::pair{"last_autoanalyze_age_s",
                                               &t.last_autoanalyze_age_s}}) {
      w.Key(key);
      w.DoubleOrNull(*value);
    }
    w.Key("options");
    w.BeginObject();
    for (const auto& [name, value] : t.options) {
      w.Key(name);
      w.String(value);
    }
    w.EndObject();
    w.Key("read_by");
    PutQueryIds(w, t.read_by);
    w.EndObject();
  }
  w.EndArray();
  w.Key("tables_omitted");
  w.Int(r.tables_omitted);
  w.EndObject();
}

void PutVacuumFinding(JsonWriter& w, const VacuumFinding& f) {
  w.BeginObject();
  w.Key("kind");
  w.String(VacuumFindingKindName(f.kind));
  w.Key("schema");
  w.String(f.schema);
  w.Key("table");
  w.String(f.table);
  w.Key("severity");
  w.String(f.severity);
  w.Key("metric");
  w.String(f.metric);
  w.Key("value");
  w.Int(f.value);
  w.Key("threshold");
  w.Int(f.threshold);
  w.Key("since_s");
  w.DoubleOrNull(f.since_s);
  w.Key("queryids");
  PutQueryIds(w, f.queryids);
  w.Key("reason");
  w.String(f.reason);
  w.EndObject();
}

}  // namespace

void WriteAdviceMembers(JsonWriter& w, const Advice& advice) {
  w.Key("index_stats");
  PutStats(w, advice.stats);
  w.Key("indexes");
  w.BeginArray();
  for (const IndexStat& i : advice.indexes) PutIndex(w, i);
  w.EndArray();
  w.Key("index_findings");
  w.BeginArray();
  for (const IndexFinding& f : advice.findings) PutFinding(w, f);
  w.EndArray();
  if (advice.schema) {
    w.Key("schema");
    PutSchema(w, *advice.schema);
  }
  w.Key("proposals");
  w.BeginArray();
  for (const IndexProposal& p : advice.proposals) PutProposal(w, p);
  w.EndArray();
  w.Key("advisor");
  w.BeginObject();
  w.Key("hypopg");
  w.Bool(advice.hypopg);
  w.Key("notes");
  PutStrings(w, advice.notes);
  w.Key("skipped");
  w.BeginArray();
  for (const SkippedStatement& s : advice.skipped) {
    w.BeginObject();
    w.Key("queryid");
    w.String(std::to_string(s.queryid));
    w.Key("reason");
    w.String(s.reason);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  WriteStatementPlans(w, advice.plans);
  if (advice.table_health) {
    w.Key("table_health");
    PutTableHealth(w, *advice.table_health);
  }
  w.Key("vacuum_findings");
  w.BeginArray();
  for (const VacuumFinding& f : advice.vacuum_findings) PutVacuumFinding(w, f);
  w.EndArray();
}

std::string AdviceToJson(const std::string& database, const Advice& advice) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("database");
  w.String(database);
  WriteAdviceMembers(w, advice);
  w.EndObject();
  return out;
}

}  // namespace optischema::protocol

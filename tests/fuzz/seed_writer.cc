// Writes the seed corpora of the fuzz targets from the product's own serializers, so that the
// seeds are what the agent and the control plane really exchange:
//   fuzz_seed_writer DIR     writes DIR/recommendation, DIR/snapshot and DIR/spool
// (DIR is normally tests/fuzz/corpus). Existing files of the same names are replaced; the config
// seeds and hand-made edge cases live beside them and are not touched.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "delivery/spool.h"
#include "protocol/recommendation.h"
#include "protocol/snapshot.h"
#include "protocol/snapshot_json.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace optischema;
using protocol::Recommendation;

Recommendation BaseRecommendation(std::string id, protocol::RecommendationSpec spec) {
  Recommendation r;
  r.id = std::move(id);
  r.agent_id = fuzz::kTestAgentId;
  r.database = fuzz::kApplyDatabase;
  r.spec = std::move(spec);
  r.affected_queryids = {-3750768127594883325, 42};
  r.guard = {900, 20, true};
  r.approved_by = "dba@example.com";
  r.approved_at = "2026-11-22T11:00:00Z";
  r.expires_at = "2026-11-29T11:00:00Z";
  return r;
}

std::string Signed(const Recommendation& r) {
  return protocol::SignRecommendationJson(protocol::RecommendationToJson(r), fuzz::kTestPrivateKey)
      .value();
}

std::string Reply(const std::vector<std::string>& elements) {
  std::string body = R"({"protocol":"1","recommendations":[)";
  for (std::size_t i = 0; i < elements.size(); ++i) body += (i > 0 ? "," : "") + elements[i];
  return body + "]}";
}

void Write(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  fuzz::WriteFileOrDie(path.string(), bytes);
}

void WriteRecommendations(const std::filesystem::path& dir) {
  protocol::CreateIndexSpec create;
  create.schema = "public";
  create.table = "orders";
  create.columns = {"customer_id", "created_at"};
  Recommendation partial = BaseRecommendation("rec-create-partial", create);
  std::get<protocol::CreateIndexSpec>(partial.spec).where =
      "status IN ('open', 'held') AND total >= 10.5 AND NOT archived AND shipped_at IS NULL";
  partial.table_digest = "9f2c4e1ab37d";
  partial.reason = "Seq Scan on orders for 41% of the database's time";

  protocol::CreateIndexSpec gin;
  gin.schema = "app";
  gin.table = "Documents";
  gin.columns = {"tags"};
  gin.method = protocol::IndexMethod::kGin;
  gin.include = {};
  gin.skip_hypopg_check = true;
  protocol::CreateIndexSpec covering = create;
  covering.include = {"total", "status"};
  covering.where = "created_at > '2026-01-01'::timestamptz OR (priority <> 3 AND region = 'eu')";

  Recommendation drop =
      BaseRecommendation("rec-drop", protocol::DropIndexSpec{"public", "orders_old_idx"});
  drop.table_digest = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
  drop.guard.auto_rollback = false;
  Recommendation setting =
      BaseRecommendation("rec-work-mem", protocol::SetConfigSpec{"work_mem", "64MB"});
  Recommendation rewrite = BaseRecommendation(
      "rec-rewrite",
      protocol::RewriteSpec{"SELECT * FROM orders WHERE customer_id = $1 OR email = $2",
                            "SELECT * FROM orders WHERE customer_id = $1 UNION SELECT * FROM "
                            "orders WHERE email = $2"});
  Recommendation expired = BaseRecommendation("rec-expired", create);
  expired.expires_at = "2026-11-22T11:59:59Z";
  Recommendation other_agent = BaseRecommendation("rec-other-agent", create);
  other_agent.agent_id = "7e57a9e1-0000-4000-8000-000000000001";
  Recommendation read_only = BaseRecommendation("rec-read-only", create);
  read_only.database = fuzz::kReadOnlyDatabase;
  Recommendation replay = BaseRecommendation("rec-applied", create);
  Recommendation bad_where = BaseRecommendation("rec-bad-where", covering);
  std::get<protocol::CreateIndexSpec>(bad_where.spec).where = "pg_sleep(10) IS NULL";

  Write(dir / "create_partial_signed.json", Reply({Signed(partial)}));
  Write(dir / "create_gin_signed.json", Reply({Signed(BaseRecommendation("rec-gin", gin))}));
  Write(dir / "create_covering_signed.json",
        Reply({Signed(BaseRecommendation("rec-covering", covering))}));
  Write(dir / "drop_signed.json", Reply({Signed(drop)}));
  Write(dir / "set_config_signed.json", Reply({Signed(setting)}));
  Write(dir / "rewrite_signed.json", Reply({Signed(rewrite)}));
  Write(dir / "refusals_signed.json",
        Reply({Signed(expired), Signed(other_agent), Signed(read_only), Signed(replay),
               Signed(bad_where)}));
  Write(dir / "unsigned.json", Reply({protocol::RecommendationToJson(setting)}));
  Write(dir / "mixed_malformed.json",
        Reply({Signed(setting), R"({"id":"rec-broken","kind":"drop_index"})", "17", Signed(drop)}));
  Write(dir / "empty.json", Reply({}));

  Recommendation table_options = BaseRecommendation(
      "rec-table-options",
      protocol::SetTableOptionsSpec{"public",
                                    "orders",
                                    {{"autovacuum_analyze_threshold", "500"},
                                     {"autovacuum_enabled", "true"},
                                     {"autovacuum_vacuum_insert_threshold", "-1"},
                                     {"autovacuum_vacuum_scale_factor", "0.02"},
                                     {"toast.autovacuum_vacuum_cost_delay", "2.5"}}});
  table_options.guard.auto_rollback = false;
  Write(dir / "set_table_options_signed.json", Reply({Signed(table_options)}));
  Write(dir / "analyze_table_signed.json",
        Reply({Signed(
            BaseRecommendation("rec-analyze", protocol::AnalyzeTableSpec{"app", "Documents"}))}));
}

protocol::Snapshot BaseSnapshot() {
  protocol::Snapshot s;
  s.snapshot_id = "5b0c9f3e-2d4a-4e8b-9c1d-7a6f5e4d3c2b";
  s.agent_id = fuzz::kTestAgentId;
  s.database = fuzz::kApplyDatabase;
  s.collected_at = "2026-11-22T11:59:30Z";
  s.window_s = 30.02;
  s.server = {150004, "15.4 (Debian 15.4-2.pgdg120+1)", "1.10", "2026-11-20T08:00:00Z", 3, false};
  s.kpis.connections_by_state = {{"active", 4}, {"idle", 11}, {"idle in transaction", 1}};
  s.kpis.connections_total = 19;
  s.kpis.max_connections = 100;
  s.kpis.cache_hit_ratio = 0.9931;
  s.kpis.tps = 412.5;

  protocol::StatementMetrics first;
  first.queryid = -3750768127594883325;
  first.userid = 16384;
  first.fingerprint = "a1b2c3d4e5f60718";
  first.include_text = true;
  first.text = "SELECT id, total FROM orders WHERE customer_id = $1 AND status = $2";
  first.window = {1200, 5400.25, 12.5, 1200, 48000, 310, 0, 0, 0, 0, 1.75, 0, 0, 0};
  first.mean_exec_time_ms = 4.5;
  first.cumulative_min_exec_time_ms = 0.8;
  first.cumulative_max_exec_time_ms = 812.3;
  first.cumulative_stddev_exec_time_ms = 9.1;
  first.time_pct = 71.4;
  first.score = 63.2;
  protocol::StatementMetrics second = first;
  second.queryid = 42;
  second.toplevel = false;
  second.include_text = true;
  second.text.reset();  // unparsable: sent as null with its fingerprint
  second.window.calls = 3;
  second.window.temp_blks_written = 2048;
  second.mean_exec_time_ms = 720.0;
  second.duration_class = protocol::DurationClass::kLong;
  second.sample_weight = 4.0;
  second.time_pct = 28.6;
  s.statements = {first, second};
  s.remainder.statements = 12;
  s.remainder.unclassified_statements = 2;
  s.remainder.window.calls = 37.5;
  s.remainder.window.total_exec_time_ms = -1.25;
  s.sampling = {true, 2, 14, 2, 1, 13, 1, 0.077};
  s.excluded_statements = 5;
  return s;
}

protocol::Advice SampleAdvice() {
  protocol::Advice advice;
  advice.stats = {"2026-11-01T00:00:00Z", 1857600.0, "stats_reset", 900.0};
  protocol::IndexStat stat;
  stat.schema = "public";
  stat.table = "orders";
  stat.name = "orders_old_idx";
  stat.method = "btree";
  stat.columns = {"legacy_ref"};
  stat.size_bytes = 52428800;
  stat.scans_window = 0;
  stat.table_writes_per_s = 35.5;
  advice.indexes = {stat};
  advice.findings = {{protocol::FindingKind::kUnused, "public", "orders", "orders_old_idx",
                      52428800, 35.5, std::nullopt, "no scan in 21 days"}};
  protocol::SchemaReport schema;
  schema.full = true;
  schema.digests = {{"public.orders", "9f2c4e1ab37d"}};
  schema.tables = {
      {"public",
       "orders",
       "table",
       "9f2c4e1ab37d",
       {{"id", "bigint", true, "nextval('orders_id_seq'::regclass)"},
        {"customer_id", "integer", true, std::nullopt}},
       {{"orders_pkey", "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)"}},
       {{"orders_pkey", "PRIMARY KEY (id)"}}}};
  advice.schema = schema;
  protocol::IndexProposal create;
  create.kind = "create_index";
  create.schema = "public";
  create.table = "orders";
  create.columns = {"customer_id", "status"};
  create.table_digest = "9f2c4e1ab37d";
  create.statements = {{-3750768127594883325, 1830.5, 12.25}};
  create.cost_before = 1830.5;
  create.cost_after = 12.25;
  create.saving_pct = 99.3;
  create.index_size_bytes = 2424832;
  create.reason = "Seq Scan on orders filtered by customer_id";
  protocol::IndexProposal drop;
  drop.kind = "drop_index";
  drop.schema = "public";
  drop.table = "orders";
  drop.index = "orders_old_idx";
  drop.table_digest = "9f2c4e1ab37d";
  drop.index_size_bytes = 52428800;
  drop.reason = "unused for 21 days";
  advice.proposals = {create, drop};
  advice.hypopg = true;
  advice.skipped = {{42, "not a SELECT"}};
  return advice;
}

// Two wait classes, a statement's load, one blocking chain of depth 2 rooted at a session idle in
// its transaction.
protocol::Activity SampleActivity() {
  protocol::Activity a;
  a.samples = 30;
  a.sample_interval_s = 1;
  a.statement_attribution = true;
  a.load = 2.5;
  a.max_active = 4;
  a.by_wait_class = {{"CPU", 1.5}, {"Lock", 1.0}};
  a.top_waits = {{"CPU", std::nullopt, 1.5}, {"Lock", "transactionid", 1.0}};
  a.by_statement = {{-7216458237650184520, "Lock", 1.0}, {42, "CPU", 1.5}};
  a.by_backend_type = {{"client backend", 2.5}};
  a.lock_wait_samples = 30;
  protocol::ChainSession root{4242, 0, 42, "idle in transaction", "client backend",
                              "Client", "ClientRead", 95.5, 96.0};
  protocol::ChainSession first{4243, 1, -7216458237650184520, "active", "client backend",
                               "Lock", "transactionid", 31.2, 31.2};
  protocol::ChainSession second{4244, 2, 17, "active", "client backend", "Lock", "tuple", 12.0,
                                std::nullopt};
  a.blocking = {{root, {first, second}, 2, 31.2, 30}};
  a.idle_in_transaction_warn_s = 60;
  a.idle_in_transaction = {{4242, 42, "idle in transaction", 95.5, 96.0, 3, 2}};
  return a;
}

void WriteSnapshots(const std::filesystem::path& dir, std::vector<std::string>* bodies) {
  protocol::Snapshot plain = BaseSnapshot();
  protocol::Snapshot advised = BaseSnapshot();
  advised.snapshot_id = "6c1d0a4f-3e5b-4f9c-8d2e-8b7a6f5e4d3c";
  advised.advice = SampleAdvice();
  protocol::Snapshot empty = BaseSnapshot();
  empty.snapshot_id = "7d2e1b5a-4f6c-4a0d-9e3f-9c8b7a6f5e4d";
  empty.statements.clear();
  empty.remainder = {};
  empty.sampling = {};
  empty.kpis.cache_hit_ratio.reset();
  empty.server.stats_reset.reset();
  protocol::Snapshot busy = BaseSnapshot();
  busy.snapshot_id = "8e3f2c6b-5a7d-4b1e-8f4a-0d9c8b7a6f5e";
  busy.activity = SampleActivity();
  for (const auto& [name, snapshot] :
       {std::pair{"statements", plain}, std::pair{"advice", advised}, std::pair{"idle", empty},
        std::pair{"activity", busy}}) {
    bodies->push_back(protocol::SnapshotToJson(snapshot));
    Write(dir / (std::string(name) + ".json"), bodies->back());
  }
}

// The entries exactly as Spool::Append writes them.
void WriteSpoolEntries(const std::filesystem::path& dir, const std::vector<std::string>& bodies) {
  const std::string spool_dir = fuzz::ScratchDir() + "/spool";
  delivery::Spool spool(spool_dir);
  if (!spool.Open().ok()) fuzz::Fail("cannot open a spool in " + spool_dir);
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    spool.Append("snap-" + std::to_string(i), bodies[i]).value();
    const delivery::SpoolEntry entry = spool.Oldest().value();
    Write(dir / ("entry_" + std::to_string(i) + ".json.gz"), spool.ReadCompressed(entry).value());
    if (!spool.Remove(entry).ok()) fuzz::Fail("cannot remove a spool entry");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seed_writer CORPUS_DIR\n");
    return 2;
  }
  const std::filesystem::path root = argv[1];
  std::vector<std::string> bodies;
  WriteRecommendations(root / "recommendation");
  WriteSnapshots(root / "snapshot", &bodies);
  WriteSpoolEntries(root / "spool", bodies);
  return 0;
}

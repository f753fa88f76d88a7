// The recommendation members of Store (store.h): proposals, approvals and what agents are served.

#include <utility>

#include "controlplane/sqlite_handle.h"
#include "controlplane/store.h"

namespace optischema::controlplane {
namespace {

// Columns read by ReadRow, in this order; the last event is the one received last.
constexpr char kRowColumns[] = R"sql(
  r.id, r.agent_id, r.status, r.expires_at, r.body, r.created_at, r.updated_at,
  (SELECT e.body FROM recommendation_events e
   WHERE e.recommendation_id = r.id AND e.agent_id = r.agent_id ORDER BY e.id DESC LIMIT 1))sql";

RecommendationRow ReadRow(const SqliteStatement& query) {
  RecommendationRow row;
  row.record = {query.ColumnText(0), query.ColumnText(1), query.ColumnText(2),
                query.ColumnOptionalText(3), query.ColumnText(4)};
  row.created_at = query.ColumnText(5);
  row.updated_at = query.ColumnText(6);
  row.last_event_json = query.ColumnOptionalText(7);
  return row;
}

}  // namespace

Status Store::AddRecommendation(const RecommendationRecord& recommendation) {
  auto added = AddRecommendationIfAbsent(recommendation);
  RETURN_IF_ERROR(added);
  if (!*added) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a recommendation with id " + recommendation.id + " exists already");
  }
  return OkStatus();
}

Result<bool> Store::AddRecommendationIfAbsent(const RecommendationRecord& recommendation) {
  std::lock_guard lock(mutex_);
  auto tx = SqliteTransaction::Begin(db_.get());
  RETURN_IF_ERROR(tx);
  auto existing =
      SqliteStatement::Prepare(db_.get(), "SELECT 1 FROM recommendations WHERE id = ?1");
  RETURN_IF_ERROR(existing);
  existing->Bind(1, recommendation.id);
  auto found = existing->Step();
  RETURN_IF_ERROR(found);
  if (*found) return false;
  auto insert = SqliteStatement::Prepare(db_.get(), R"sql(
INSERT INTO recommendations (id, agent_id, status, expires_at, body, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6))sql");
  RETURN_IF_ERROR(insert);
  insert->Bind(1, recommendation.id);
  insert->Bind(2, recommendation.agent_id);
  insert->Bind(3, recommendation.status);
  if (recommendation.expires_at) {
    insert->Bind(4, *recommendation.expires_at);
  } else {
    insert->BindNull(4);
  }
  insert->Bind(5, recommendation.body_json);
  insert->Bind(6, Now());
  if (Status st = insert->Run(); !st.ok()) return std::move(st).error();
  if (Status st = tx->Commit(); !st.ok()) return std::move(st).error();
  return true;
}

Result<std::optional<RecommendationRow>> Store::GetRecommendation(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(
      db_.get(), std::string("SELECT") + kRowColumns + " FROM recommendations r WHERE r.id = ?1");
  RETURN_IF_ERROR(query);
  query->Bind(1, id);
  auto found = query->Step();
  RETURN_IF_ERROR(found);
  if (!*found) return std::optional<RecommendationRow>();
  return std::optional<RecommendationRow>(ReadRow(*query));
}

Result<bool> Store::TransitionRecommendation(const std::string& id,
                                             const std::vector<std::string>& from,
                                             const std::string& to,
                                             const std::optional<std::string>& body_json) {
  std::lock_guard lock(mutex_);
  auto tx = SqliteTransaction::Begin(db_.get());
  RETURN_IF_ERROR(tx);
  auto current =
      SqliteStatement::Prepare(db_.get(), "SELECT status FROM recommendations WHERE id = ?1");
  RETURN_IF_ERROR(current);
  current->Bind(1, id);
  auto found = current->Step();
  RETURN_IF_ERROR(found);
  bool allowed = false;
  if (*found) {
    const std::string status = current->ColumnText(0);
    for (const std::string& f : from) allowed = allowed || f == status;
  }
  if (!allowed) return false;
  auto update = SqliteStatement::Prepare(db_.get(), R"sql(
UPDATE recommendations SET status = ?2, body = COALESCE(?3, body), updated_at = ?4
WHERE id = ?1)sql");
  RETURN_IF_ERROR(update);
  update->Bind(1, id);
  update->Bind(2, to);
  if (body_json) {
    update->Bind(3, *body_json);
  } else {
    update->BindNull(3);
  }
  update->Bind(4, Now());
  if (Status st = update->Run(); !st.ok()) return std::move(st).error();
  if (Status st = tx->Commit(); !st.ok()) return std::move(st).error();
  return true;
}

Result<std::vector<std::string>> Store::Recommendations(const std::string& agent_id,
                                                        const std::string& status,
                                                        bool include_expired) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(db_.get(), R"sql(
SELECT body FROM recommendations
WHERE agent_id = ?1 AND status = ?2
  AND (?4 OR expires_at IS NULL OR julianday(expires_at) > julianday(?3))
ORDER BY created_at, rowid)sql");
  RETURN_IF_ERROR(query);
  query->Bind(1, agent_id);
  query->Bind(2, status);
  query->Bind(3, Now());
  query->Bind(4, int64_t{include_expired ? 1 : 0});
  std::vector<std::string> bodies;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return bodies;
    bodies.push_back(query->ColumnText(0));
  }
}

Result<std::vector<RecommendationRow>> Store::ListRecommendations(
    const std::optional<std::string>& agent_id) {
  std::lock_guard lock(mutex_);
  auto query = SqliteStatement::Prepare(
      db_.get(), std::string("SELECT") + kRowColumns +
                     " FROM recommendations r WHERE ?1 IS NULL OR r.agent_id = ?1"
                     " ORDER BY r.created_at, r.rowid");
  RETURN_IF_ERROR(query);
  if (agent_id) query->Bind(1, *agent_id);
  std::vector<RecommendationRow> rows;
  for (;;) {
    auto row = query->Step();
    RETURN_IF_ERROR(row);
    if (!*row) return rows;
    rows.push_back(ReadRow(*query));
  }
}

}  // namespace optischema::controlplane

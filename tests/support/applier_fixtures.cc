#include "tests/support/applier_fixtures.h"

#include <utility>

namespace optischema::testing {

applier::CheckedRecommendation CreateIndexRecommendation(const std::string& id,
                                                         const std::string& table,
                                                         std::vector<std::string> columns) {
  applier::CheckedRecommendation checked;
  checked.recommendation.id = id;
  checked.recommendation.database = "shop";
  protocol::CreateIndexSpec spec;
  spec.schema = "public";
  spec.table = table;
  spec.columns = std::move(columns);
  checked.recommendation.spec = spec;
  return checked;
}

applier::CheckedRecommendation DropIndexRecommendation(const std::string& id,
                                                       const std::string& index) {
  applier::CheckedRecommendation checked;
  checked.recommendation.id = id;
  checked.recommendation.spec = protocol::DropIndexSpec{"public", index};
  return checked;
}

applier::CheckedRecommendation SetConfigRecommendation(const std::string& id,
                                                       const std::string& name,
                                                       const std::string& value) {
  applier::CheckedRecommendation checked;
  checked.recommendation.id = id;
  checked.recommendation.spec = protocol::SetConfigSpec{name, value};
  return checked;
}

std::string IndexState(PgCluster& cluster, const std::string& name) {
  return cluster.QueryValue(
      "SELECT coalesce((SELECT i.indisvalid::text FROM pg_index i JOIN pg_class c ON c.oid = "
      "i.indexrelid WHERE c.relname = '" +
      name + "'), 'absent')");
}

std::vector<std::string> AuditStepNames(const applier::AuditLog& audit, const std::string& id) {
  std::vector<std::string> steps;
  for (const auto& record : audit.ForRecommendation(id)) {
    steps.emplace_back(applier::AuditStepName(record.step));
  }
  return steps;
}

}  // namespace optischema::testing

#pragma once

// Recommendations as the applier receives them once checked, and reading back what it did: an
// index's state in the catalog and the audit steps of a recommendation.

#include <string>
#include <vector>

#include "applier/audit_log.h"
#include "applier/recommendation_check.h"
#include "tests/support/pg_cluster.h"

namespace optischema::testing {

// create_index on public.`table` (`columns`, btree) for database "shop".
applier::CheckedRecommendation CreateIndexRecommendation(const std::string& id,
                                                         const std::string& table,
                                                         std::vector<std::string> columns);

// drop_index of public.`index`.
applier::CheckedRecommendation DropIndexRecommendation(const std::string& id,
                                                       const std::string& index);

// set_config of setting `name` to `value`.
applier::CheckedRecommendation SetConfigRecommendation(const std::string& id,
                                                       const std::string& name,
                                                       const std::string& value);

// "true" or "false" (pg_index.indisvalid) for the index named `name`, "absent" when there is
// none.
std::string IndexState(PgCluster& cluster, const std::string& name);

// The names of the audit steps of recommendation `id`, oldest first.
std::vector<std::string> AuditStepNames(const applier::AuditLog& audit, const std::string& id);

}  // namespace optischema::testing

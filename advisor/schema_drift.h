#pragma once

// Schema reports and drift: what changed between two schema readings
// (pg/table_schema.h). Pure; thread-safe.

#include <vector>

#include "protocol/advice.h"

namespace optischema::advisor {

// Every difference from `before` to `after`, tables in name order: a table added or removed is
// one entry; for a table in both whose digest differs, one entry per column added, removed or
// changed (type, nullability, default), per index and per constraint added, removed or changed.
std::vector<protocol::SchemaDrift> DiffSchemas(const std::vector<protocol::TableSchema>& before,
                                               const std::vector<protocol::TableSchema>& after);

// The report for `current`: with no `previous` reading, full (every table); otherwise digests of
// every table, the definitions of the added and changed tables only, and the drift.
protocol::SchemaReport BuildSchemaReport(const std::vector<protocol::TableSchema>* previous,
                                         const std::vector<protocol::TableSchema>& current);

}  // namespace optischema::advisor

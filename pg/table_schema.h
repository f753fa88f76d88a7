#pragma once

// The schema of the connected database's user tables (tables, partitioned tables, materialized
// views): columns with type, nullability and default, index and constraint definitions, and a
// digest per table. The digest is TableDigest (keyed with this agent's DigestKey) over the
// definitions as the server prints them, before anonymization; two readings of an unchanged
// table with the same key give the same digest, and any change to a column, index or constraint
// changes it. The applier compares a recommendation's table_digest with ReadTableDigest, so both
// sides use this one function. Catalog reads only; every statement carries the agent marker.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pg/pg_session.h"
#include "pg/table_digest.h"
#include "protocol/advice.h"

namespace optischema::pg {

struct TableName {
  std::string schema;
  std::string name;
};

// Anonymizes a catalog definition: `prefix` + `fragment` is one statement (e.g. prefix "SELECT "
// for an expression); returns the anonymized fragment without the prefix, or nullopt when it
// cannot. Must never return raw input (the collector's AnonymizeFragment is the one in use).
using FragmentAnonymizer =
    std::function<std::optional<std::string>(std::string_view prefix, std::string_view fragment)>;

// Every user table ordered by schema and name, or only `only` (empty when it does not exist).
// Column defaults and index and constraint definitions go through `anonymize`; one it returns
// nullopt for is shown as "(not shown)". Without `key` every digest is left empty: a digest is
// never computed unkeyed. Errors: those of PgSession.
Result<std::vector<protocol::TableSchema>> ReadSchema(PgSession& session,
                                                      const std::optional<DigestKey>& key,
                                                      const std::optional<TableName>& only,
                                                      const FragmentAnonymizer& anonymize);

// The digest of one table now under `key`; nullopt when there is no such table.
Result<std::optional<std::string>> ReadTableDigest(PgSession& session, const DigestKey& key,
                                                   const TableName& table);

}  // namespace optischema::pg

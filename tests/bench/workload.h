#pragma once

// The benchmark's workload: many distinct pg_stat_statements entries with realistic texts.
//
// Statement i is a SELECT on table bench_t<i % kTables> whose target list has a shape derived from
// s = i / kTables: its length (8 to 147 expressions, spread over that range whatever the number of
// statements) and the rotation of the expression kinds it cycles through. Different tables or
// shapes give different PostgreSQL 15 queryids (constants and aliases do not count), so statements
// 0..n-1 are n distinct entries; their normalized texts are roughly 200 to 4000 bytes long.

#include <cstddef>
#include <functional>
#include <string>

namespace optischema::bench {

inline constexpr std::size_t kTables = 250;
// Number of distinct statements the shapes can express.
std::size_t MaxStatements();

// One line for humans: what the statements look like.
std::string WorkloadDescription();

// Creates tables bench_t0 .. bench_t<kTables-1> (id int primary key, a int, b int, c text,
// d timestamptz), each holding a few rows.
std::string SetupSql();

// Statement i (0 <= i < MaxStatements()), without trailing semicolon.
std::string Statement(std::size_t i);

// Statements per multi-statement string: one round trip each, a few hundred KiB of SQL.
inline constexpr std::size_t kBatchStatements = 500;

// Calls `run` with statements 0..n-1 in order, as multi-statement strings of at most
// kBatchStatements statements each.
void ForEachBatch(std::size_t n, const std::function<void(const std::string&)>& run);
// The same for statements begin..end-1.
void ForEachBatch(std::size_t begin, std::size_t end,
                  const std::function<void(const std::string&)>& run);

// LIKE pattern matching the normalized texts of Statement() in pg_stat_statements.query, and
// nothing else.
inline constexpr char kStatementPattern[] = "SELECT id, %FROM bench_t% WHERE id = $%";

}  // namespace optischema::bench

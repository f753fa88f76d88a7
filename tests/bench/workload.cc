#include "tests/bench/workload.h"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace optischema::bench {
namespace {

constexpr std::size_t kMinExpressions = 8;
constexpr std::size_t kLengths = 140;  // target lists have kMinExpressions + [0, kLengths) items
// Coprime with kLengths: successive shapes jump across the whole length range.
constexpr std::size_t kLengthStride = 37;
constexpr std::size_t kRowsPerTable = 20;

struct ExpressionKind {
  const char* sql;    // expression over bench_t's columns
  const char* alias;  // prefix of the output column name
};

// Structurally different expressions: each kind jumbles differently, so the order in which a
// target list cycles through them is part of the queryid.
constexpr std::array<ExpressionKind, 8> kKinds = {{
    {"a + 3", "e"},
    {"coalesce(c, 'x')", "f"},
    {"b * 2 - a", "g"},
    {"upper(c)", "h"},
    {"d + interval '1 day'", "k"},
    {"CASE WHEN a > 10 THEN b ELSE 0 END", "m"},
    {"length(c) + b", "n"},
    {"date_trunc('hour', d)", "p"},
}};

}  // namespace

std::size_t MaxStatements() { return kTables * kLengths * kKinds.size(); }

std::string WorkloadDescription() {
  return "SELECTs on " + std::to_string(kTables) + " tables of " + std::to_string(kRowsPerTable) +
         " rows whose target lists differ in length (" + std::to_string(kMinExpressions) + " to " +
         std::to_string(kMinExpressions + kLengths - 1) + " expressions) and composition";
}

std::string SetupSql() {
  std::string sql;
  for (std::size_t t = 0; t < kTables; ++t) {
    const std::string table = "bench_t" + std::to_string(t);
    sql += "CREATE TABLE " + table +
           " (id int PRIMARY KEY, a int, b int, c text, d timestamptz);\n"
           "INSERT INTO " +
           table +
           " SELECT g, g % 50, g * 7, 'row ' || g, now() - g * interval '1 minute' "
           "FROM generate_series(1, " +
           std::to_string(kRowsPerTable) + ") g;\n";
  }
  return sql;
}

std::string Statement(std::size_t i) {
  if (i >= MaxStatements()) {
    throw std::invalid_argument("statement " + std::to_string(i) + " is beyond the " +
                                std::to_string(MaxStatements()) + " distinct shapes");
  }
  const std::size_t shape = i / kTables;
  const std::size_t expressions = kMinExpressions + (shape % kLengths) * kLengthStride % kLengths;
  const std::size_t rotation = shape / kLengths;
  std::string sql = "SELECT id";
  for (std::size_t j = 0; j < expressions; ++j) {
    const ExpressionKind& kind = kKinds[(j + rotation) % kKinds.size()];
    sql += ", ";
    sql += kind.sql;
    sql += " AS ";
    sql += kind.alias;
    sql += std::to_string(j);
  }
  sql += " FROM bench_t" + std::to_string(i % kTables) +
         " WHERE id = " + std::to_string(i % kRowsPerTable + 1);
  return sql;
}

void ForEachBatch(std::size_t n, const std::function<void(const std::string&)>& run) {
  ForEachBatch(0, n, run);
}

void ForEachBatch(std::size_t begin, std::size_t end,
                  const std::function<void(const std::string&)>& run) {
  std::string sql;
  for (std::size_t first = begin; first < end; first += kBatchStatements) {
    sql.clear();
    for (std::size_t i = first; i < std::min(end, first + kBatchStatements); ++i) {
      sql += Statement(i);
      sql += ";\n";
    }
    run(sql);
  }
}

}  // namespace optischema::bench

#pragma once

// RAII for libpg_query's result structs, which its functions return by value and which must be
// released with the matching pg_query_free_* function. Include only where pg_query.h is on the
// include path (the collector, applier and advisor libraries).

#include <pg_query.h>

namespace optischema::pg {

// Owns one libpg_query result struct and releases it with `Free`. Not copyable.
template <typename Result, void (*Free)(Result)>
class PgQueryOwned {
 public:
  explicit PgQueryOwned(Result result) : result_(result) {}
  ~PgQueryOwned() { Free(result_); }
  PgQueryOwned(const PgQueryOwned&) = delete;
  PgQueryOwned& operator=(const PgQueryOwned&) = delete;

  const Result* operator->() const { return &result_; }

 private:
  Result result_;
};

using PgQueryParsed = PgQueryOwned<PgQueryParseResult, pg_query_free_parse_result>;
using PgQueryNormalized = PgQueryOwned<PgQueryNormalizeResult, pg_query_free_normalize_result>;
using PgQueryScanned = PgQueryOwned<PgQueryScanResult, pg_query_free_scan_result>;
using PgQueryFingerprinted =
    PgQueryOwned<PgQueryFingerprintResult, pg_query_free_fingerprint_result>;

}  // namespace optischema::pg

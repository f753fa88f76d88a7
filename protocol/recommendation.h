#pragma once

// Protocol v1 recommendations: a change a person approved on the control plane, signed there with
// Ed25519 and pulled by the agent. Plain data and their JSON; field names live in
// recommendation.cc only.
//
// Wire form of one recommendation (every field required unless marked optional):
//   id                 [A-Za-z0-9-]{1,64}
//   agent_id, database non-empty strings
//   kind               "create_index" | "drop_index" | "set_config" | "rewrite" |
//                      "set_table_options" | "analyze_table"
//   spec               object, exactly the keys of its kind (see the *Spec structs)
//   affected_queryids  array of JSON integers: pg_stat_statements queryids, signed 64-bit, written
//                      as numbers (not strings) so that they are covered by canonical JSON as is;
//                      a reader must not pass them through a double (JavaScript: use BigInt)
//   guard              {verify_window_s, max_regression_pct, auto_rollback}, all required
//   approved_by        non-empty string
//   approved_at, expires_at  RFC 3339 timestamps, e.g. "2026-11-21T22:30:05Z"
//   table_digest       optional: create_index / drop_index only (refused for the other kinds);
//                      the digest of the table's schema (pg/table_schema.h) when the change was
//                      proposed. The applier refuses the change when the table's digest differs
//                      now.
//   reason             optional: why it was proposed, for people (the advisor's evidence)
//   signature          base64 Ed25519 signature over RecommendationSigningBytes (optional until
//                      signed; the agent applies only recommendations that verify)
// Recommendations are commands, so parsing is strict: unknown keys, at the top level as in spec
// and guard, are refused rather than ignored. Every number is an integer (canonical JSON refuses
// floats); percentages are whole percents. No string may contain U+0000.
//
// Every function here is stateless and thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"

namespace optischema::protocol {

enum class RecommendationKind {
  kCreateIndex,
  kDropIndex,
  kSetConfig,
  kRewrite,
  kSetTableOptions,
  kAnalyzeTable,
};
// "create_index", "drop_index", "set_config", "rewrite", "set_table_options", "analyze_table".
std::string_view RecommendationKindName(RecommendationKind kind);
// Every kind's name, in the order of RecommendationKind.
std::vector<std::string_view> RecommendationKindNames();

enum class IndexMethod { kBtree, kHash, kGist, kGin, kBrin };
// "btree", "hash", "gist", "gin", "brin".
std::string_view IndexMethodName(IndexMethod method);

// The lifecycle events an agent reports about a recommendation (RecommendationEvent::event).
enum class LifecycleEvent {
  kValidated,
  kRejected,
  kStarted,
  kApplied,
  kFailed,
  kVerified,
  kRegressed,
  kRolledBack,
};
// "validated", "rejected", "started", "applied", "failed", "verified", "regressed", "rolled_back".
std::string_view LifecycleEventName(LifecycleEvent event);
// The event whose name is `name`; nullopt for any other string.
std::optional<LifecycleEvent> ParseLifecycleEvent(std::string_view name);

// Identifiers (schema, table, column, index names) are as PostgreSQL stores them, unquoted and
// case-sensitive: 1 to 63 bytes. The applier quotes them; nothing here is SQL text to execute.
struct CreateIndexSpec {
  std::string schema;
  std::string table;
  std::vector<std::string> columns;          // non-empty
  IndexMethod method = IndexMethod::kBtree;  // optional on the wire, "btree" when absent
  std::vector<std::string> include;          // optional on the wire, empty when absent
  std::optional<std::string> where;          // optional (absent or null): partial-index
                                             // predicate, non-empty; checked by the applier
  bool skip_hypopg_check = false;            // optional on the wire, false when absent: apply
                                             // even if HypoPG estimates too small a saving
};
struct DropIndexSpec {
  std::string schema;
  std::string index;
};
struct SetConfigSpec {
  std::string name;   // a GUC name: [A-Za-z_][A-Za-z0-9_.]*, at most 63 bytes
  std::string value;  // as ALTER SYSTEM would take it, e.g. "64MB"; may be empty
};
struct RewriteSpec {
  std::string original;   // normalized query text ($n placeholders); non-empty
  std::string rewritten;  // non-empty
};
// Storage parameters (reloptions) of one table, materialized view or its TOAST table.
struct SetTableOptionsSpec {
  std::string schema;
  std::string table;
  // name -> value, sorted by name, names unique: 1 to kMaxTableOptions options, each named and
  // valued as protocol/table_options_allow_list.h allows (the parser refuses anything else). The
  // value is the text received; the applier renders it again (CanonicalTableOptionValue).
  std::vector<std::pair<std::string, std::string>> options;
};
// ANALYZE of one table or materialized view.
struct AnalyzeTableSpec {
  std::string schema;
  std::string table;
};
// The kind is the alternative held, so kind and spec cannot disagree.
using RecommendationSpec = std::variant<CreateIndexSpec, DropIndexSpec, SetConfigSpec, RewriteSpec,
                                        SetTableOptionsSpec, AnalyzeTableSpec>;
RecommendationKind KindOf(const RecommendationSpec& spec);

struct RecommendationGuard {
  int64_t verify_window_s = 0;     // 1..604800: how long to watch after applying
  int64_t max_regression_pct = 0;  // 0..1000: allowed growth of the affected statements' mean
                                   // time, in whole percent, before it counts as a regression
  bool auto_rollback = false;      // undo the change on a regression
};

struct Recommendation {
  std::string id;
  std::string agent_id;
  std::string database;  // configured database name
  RecommendationSpec spec;
  std::vector<int64_t> affected_queryids;
  RecommendationGuard guard;
  std::string approved_by;
  std::string approved_at;                  // RFC 3339
  std::string expires_at;                   // RFC 3339
  std::optional<std::string> table_digest;  // 1..64 hex digits; create_index / drop_index only
  std::optional<std::string> reason;        // free text for people
  std::optional<std::string> signature;
};

// Compact JSON, signature included when set. Not canonical: sign the text with
// SignRecommendationJson, which canonicalizes it.
std::string RecommendationToJson(const Recommendation& recommendation);

// kParseFailed with "recommendation[ <id>]: <field>: <what is wrong>" when the text is not a
// recommendation as described above (including text canonical JSON refuses, e.g. a float or a
// duplicate key). <field> is a path such as spec.columns[1]; values are never echoed. Does not
// verify the signature: see VerifyRecommendationSignature.
Result<Recommendation> ParseRecommendation(std::string_view json);

// The bytes the signature covers: CanonicalJsonWithout(json, "signature"). Errors are those of
// canonical_json.h. Any JSON object is accepted; it need not be a valid recommendation.
Result<std::string> RecommendationSigningBytes(std::string_view json);

// Signs a recommendation: returns its signing bytes with a "signature" member appended before the
// closing brace. Errors: kParseFailed when the text is not a valid recommendation (see
// ParseRecommendation), kInvalidArgument when it already has a signature, and Ed25519Sign's.
Result<std::string> SignRecommendationJson(std::string_view json_without_signature,
                                           std::string_view private_key_b64);

// OK when json carries a signature over its own signing bytes by public_key_b64. Errors:
// kParseFailed / kInvalidArgument when the text is not canonicalizable JSON or the signature is
// not a string, kPermissionDenied when there is no signature or it does not verify, and
// Ed25519Verify's (kConfig for a malformed public key). Verify before acting on the parse result.
Status VerifyRecommendationSignature(std::string_view json, std::string_view public_key_b64);

// One element of the pull reply. raw_json is the element's bytes exactly as received, for
// VerifyRecommendationSignature and for the audit log.
struct RecommendationEnvelope {
  std::string raw_json;
  std::string id;  // the element's "id" when it is a valid id, even if the rest is not; else ""
  Result<Recommendation> recommendation;
};

// GET /v1/agents/{id}/recommendations?status=approved answers
// {"protocol":"1","recommendations":[{...},...]}. The outer object is checked: kParseFailed when it
// is not a JSON object with a "protocol" string and a "recommendations" array (given once),
// kUnsupportedVersion per CheckProtocolVersion. Each element is then parsed on its own, in order,
// so a malformed one is reported in its envelope without affecting the others.
Result<std::vector<RecommendationEnvelope>> ParseRecommendationList(std::string_view body);

// The same, but only the first `max_elements` elements become envelopes (none of the others is
// copied or parsed on its own); `total` counts every element of the array.
struct RecommendationList {
  std::vector<RecommendationEnvelope> envelopes;
  std::size_t total = 0;
};
Result<RecommendationList> ParseRecommendationList(std::string_view body, std::size_t max_elements);

// POST /v1/agents/{id}/recommendations/{rid}/events.
struct RecommendationEvent {
  std::string recommendation_id;
  // LifecycleEventName of one LifecycleEvent.
  std::string event;
  std::string at;      // RFC 3339
  std::string detail;  // free text for people, may be empty; free of secrets
};
std::string RecommendationEventToJson(const RecommendationEvent& event);

// kUnsupportedVersion per CheckProtocolVersion; kParseFailed naming the field when
// recommendation_id, event or at is missing or invalid, or detail is present and not a string.
// Unknown keys are ignored (minor protocol versions may add fields).
Result<RecommendationEvent> ParseRecommendationEvent(std::string_view body);

}  // namespace optischema::protocol

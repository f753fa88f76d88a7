// Fuzz target: the reply of GET /v1/agents/{id}/recommendations?status=approved, through every
// check the agent runs before anything touches a database.
//
// The whole input is the reply body. It goes to the intake's announcement (with the test public
// key) and is split by ParseRecommendationList; each element then passes CheckRecommendation
// twice: as received (fuzzed bytes almost never carry a valid signature, so this covers the
// refusals) and re-signed with the test key, so that fuzzed content also reaches the checks behind
// the signature: agent, expiry, database, replay and the `where` grammar. Then the checks the
// executor makes before its first statement: identifier quoting, the index name, a rewrite's two
// plain SELECTs.
//
// Invariants (a failure aborts): a parsed recommendation serializes and parses back to the same
// JSON; what the test key signed verifies; a checked `where` re-emits to SQL that passes the same
// grammar and re-emits to itself.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "applier/index_name.h"
#include "applier/recommendation_check.h"
#include "core/recent_ids.h"
#include "delivery/recommendation_intake.h"
#include "pg/predicate.h"
#include "pg/sql_identifier.h"
#include "protocol/recommendation.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace optischema;

applier::CheckContext MakeContext() {
  applier::CheckContext context;
  context.agent_id = fuzz::kTestAgentId;
  context.public_key_b64 = fuzz::kTestPublicKey;
  context.now = fuzz::TestNow();
  context.databases = {{fuzz::kApplyDatabase, true}, {fuzz::kReadOnlyDatabase, false}};
  context.already_applied = [](const std::string& id) { return id == "rec-applied"; };
  return context;
}

void CheckRoundTrip(const protocol::Recommendation& recommendation) {
  const std::string json = protocol::RecommendationToJson(recommendation);
  const Result<protocol::Recommendation> again = protocol::ParseRecommendation(json);
  if (!again.ok())
    fuzz::Fail("a parsed recommendation does not parse back: " + again.error().message);
  if (protocol::RecommendationToJson(*again) != json) {
    fuzz::Fail("a parsed recommendation changes in a serialize/parse round trip");
  }
}

// What the executor derives from a checked recommendation before it runs anything.
void PrepareLikeTheExecutor(const applier::CheckedRecommendation& checked) {
  const protocol::Recommendation& rec = checked.recommendation;
  if (const auto* index = std::get_if<protocol::CreateIndexSpec>(&rec.spec)) {
    (void)applier::IndexNameForRecommendation(rec.id);
    (void)pg::QuoteIdentifier(index->schema);
    (void)pg::QuoteIdentifier(index->table);
    for (const std::string& column : index->columns) (void)pg::QuoteIdentifier(column);
    for (const std::string& column : index->include) (void)pg::QuoteIdentifier(column);
    if (checked.where) {
      const Result<pg::SafePredicate> again = pg::CheckPredicate(checked.where->sql);
      if (!again.ok()) fuzz::Fail("a re-emitted where is refused: " + again.error().message);
      if (again->sql != checked.where->sql)
        fuzz::Fail("a re-emitted where changes when re-emitted");
    }
  } else if (const auto* drop = std::get_if<protocol::DropIndexSpec>(&rec.spec)) {
    (void)pg::QuoteIdentifier(drop->schema);
    (void)pg::QuoteIdentifier(drop->index);
  } else if (const auto* setting = std::get_if<protocol::SetConfigSpec>(&rec.spec)) {
    (void)pg::QuoteLiteral(setting->value);
  } else if (const auto* rewrite = std::get_if<protocol::RewriteSpec>(&rec.spec)) {
    (void)pg::CheckPlainSelect(rewrite->original);
    (void)pg::CheckPlainSelect(rewrite->rewritten);
  }
}

void CheckEnvelope(const protocol::RecommendationEnvelope& envelope,
                   const applier::CheckContext& context) {
  auto as_received = applier::CheckRecommendation(envelope, context);
  if (as_received.ok()) PrepareLikeTheExecutor(*as_received);
  if (!envelope.recommendation.ok()) return;
  CheckRoundTrip(*envelope.recommendation);

  // Re-signed with the test key: the bytes signed are the canonical form of what was received.
  const Result<std::string> unsigned_bytes =
      protocol::RecommendationSigningBytes(envelope.raw_json);
  if (!unsigned_bytes.ok()) fuzz::Fail("a parsed recommendation has no signing bytes");
  const Result<std::string> signed_json =
      protocol::SignRecommendationJson(*unsigned_bytes, fuzz::kTestPrivateKey);
  if (!signed_json.ok()) return;  // e.g. an empty approved_by, which signing refuses
  if (!protocol::VerifyRecommendationSignature(*signed_json, fuzz::kTestPublicKey).ok()) {
    fuzz::Fail("a recommendation signed with the test key does not verify");
  }
  protocol::RecommendationEnvelope resigned{*signed_json, envelope.id,
                                            protocol::ParseRecommendation(*signed_json)};
  if (!resigned.recommendation.ok()) fuzz::Fail("a signed recommendation does not parse");
  auto checked = applier::CheckRecommendation(resigned, context);
  if (checked.ok()) PrepareLikeTheExecutor(*checked);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::SilenceLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  RecentIds announced(4096);
  delivery::AnnounceRecommendations(body, fuzz::kTestPublicKey, announced);

  const Result<std::vector<protocol::RecommendationEnvelope>> list =
      protocol::ParseRecommendationList(body);
  if (!list.ok()) return 0;
  static const applier::CheckContext context = MakeContext();
  for (const protocol::RecommendationEnvelope& envelope : *list) CheckEnvelope(envelope, context);
  return 0;
}

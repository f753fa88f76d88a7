#include "protocol/recommendation.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "protocol/ed25519.h"
#include "protocol/table_options_allow_list.h"

namespace optischema::protocol {
namespace {

using nlohmann::json;

// RFC 8032 section 7.1 TEST 1 key pair, base64.
constexpr char kSeed[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
constexpr char kPublic[] = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

// Unsorted, spaced, with JSON escapes: canonicalization has work to do.
constexpr char kUnsigned[] = R"json({
  "spec": {"where": "status = 'open'\n", "table": "orders", "schema": "public",
           "method": "btree", "include": ["total"], "columns": ["customer_id", "cr\u00e9\u00e9_le"]},
  "id": "rec-42",
  "kind": "create_index",
  "agent_id": "5f0c6b2e-8d1a-4c3b-9e7f-2a1b3c4d5e6f",
  "database": "orders",
  "affected_queryids": [-9223372036854775808, 42, 9223372036854775807],
  "guard": {"verify_window_s": 600, "max_regression_pct": 10, "auto_rollback": true},
  "approved_by": "dba@example.com",
  "approved_at": "2026-01-31T12:00:00Z",
  "expires_at": "2026-02-07T12:00:00Z"
})json";

// kUnsigned's signing bytes and their signature by kSeed, as computed by an independent
// implementation (Python: json.dumps(doc, sort_keys=True, separators=(",", ":"),
// ensure_ascii=False), then Ed25519 over the UTF-8 bytes).
constexpr char kSigningBytes[] =
    R"({"affected_queryids":[-9223372036854775808,42,9223372036854775807],)"
    R"("agent_id":"5f0c6b2e-8d1a-4c3b-9e7f-2a1b3c4d5e6f","approved_at":"2026-01-31T12:00:00Z",)"
    R"("approved_by":"dba@example.com","database":"orders","expires_at":"2026-02-07T12:00:00Z",)"
    R"("guard":{"auto_rollback":true,"max_regression_pct":10,"verify_window_s":600},)"
    R"("id":"rec-42","kind":"create_index","spec":{"columns":["customer_id","créé_le"],)"
    R"("include":["total"],"method":"btree","schema":"public","table":"orders",)"
    R"("where":"status = 'open'\n"}})";
constexpr char kSignature[] =
    "MNCSVtmUkQve8+5eORZZwx+KglMAJQFSjgAXqPJ7lKqoPonNWs2wbo8v6qpcsXvoUMY1qpLgXcOlOK0D4eTYDg==";

std::string Signed(const std::string& text) {
  Result<std::string> r = SignRecommendationJson(text, kSeed);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : std::string();
}

// kUnsigned with the value at pointer replaced (or removed when value is discarded).
std::string With(const std::string& pointer, const json& value) {
  json j = json::parse(kUnsigned);
  if (value.is_discarded()) {
    const json::json_pointer p(pointer);
    j[p.parent_pointer()].erase(p.back());
  } else {
    j[json::json_pointer(pointer)] = value;
  }
  return j.dump();
}
std::string Without(const std::string& pointer) {
  return With(pointer, json(json::value_t::discarded));
}

Error ParseError(const std::string& text) {
  Result<Recommendation> r = ParseRecommendation(text);
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) return MakeError(ErrorCode::kInternal, "<parsed>");
  EXPECT_EQ(r.error().code, ErrorCode::kParseFailed) << r.error().message;
  return r.error();
}

TEST(Recommendation, ParsesEveryFieldOfACreateIndex) {
  Result<Recommendation> r = ParseRecommendation(kUnsigned);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->id, "rec-42");
  EXPECT_EQ(r->agent_id, "5f0c6b2e-8d1a-4c3b-9e7f-2a1b3c4d5e6f");
  EXPECT_EQ(r->database, "orders");
  EXPECT_EQ(KindOf(r->spec), RecommendationKind::kCreateIndex);
  const auto& spec = std::get<CreateIndexSpec>(r->spec);
  EXPECT_EQ(spec.schema, "public");
  EXPECT_EQ(spec.table, "orders");
  EXPECT_EQ(spec.columns, (std::vector<std::string>{"customer_id", "cr\xC3\xA9\xC3\xA9_le"}));
  EXPECT_EQ(spec.method, IndexMethod::kBtree);
  EXPECT_EQ(spec.include, std::vector<std::string>{"total"});
  EXPECT_EQ(spec.where.value_or("<absent>"), "status = 'open'\n");
  EXPECT_EQ(r->affected_queryids, (std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 42,
                                                        std::numeric_limits<int64_t>::max()}));
  EXPECT_EQ(r->guard.verify_window_s, 600);
  EXPECT_EQ(r->guard.max_regression_pct, 10);
  EXPECT_TRUE(r->guard.auto_rollback);
  EXPECT_EQ(r->approved_by, "dba@example.com");
  EXPECT_EQ(r->approved_at, "2026-01-31T12:00:00Z");
  EXPECT_EQ(r->expires_at, "2026-02-07T12:00:00Z");
  EXPECT_FALSE(r->signature.has_value());
}

TEST(Recommendation, OptionalSpecFieldsTakeTheirDefaults) {
  json j = json::parse(kUnsigned);
  j["spec"].erase("method");
  j["spec"].erase("include");
  j["spec"]["where"] = nullptr;
  Result<Recommendation> r = ParseRecommendation(j.dump());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& spec = std::get<CreateIndexSpec>(r->spec);
  EXPECT_EQ(spec.method, IndexMethod::kBtree);
  EXPECT_TRUE(spec.include.empty());
  EXPECT_FALSE(spec.where.has_value());
}

TEST(Recommendation, EveryKindRoundTripsThroughJson) {
  Recommendation base = *ParseRecommendation(kUnsigned);
  base.signature = "c2lnbmF0dXJl";
  std::vector<RecommendationSpec> specs = {
      CreateIndexSpec{"s", "t", {"a", "b"}, IndexMethod::kGin, {}, std::nullopt},
      DropIndexSpec{"public", "orders_old_idx"},
      SetConfigSpec{"pg_stat_statements.max", "10000"},
      SetConfigSpec{"search_path", ""},
      RewriteSpec{"SELECT * FROM t WHERE a = $1", "SELECT a FROM t WHERE a = $1"},
      SetTableOptionsSpec{"public",
                          "orders",
                          {{"autovacuum_enabled", "false"},
                           {"autovacuum_vacuum_scale_factor", "0.050"},
                           {"toast.autovacuum_vacuum_threshold", "-0"}}},
      AnalyzeTableSpec{"public", "orders"},
  };
  for (const auto& spec : specs) {
    Recommendation r = base;
    r.spec = spec;
    const std::string text = RecommendationToJson(r);
    Result<Recommendation> back = ParseRecommendation(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.error().message;
    EXPECT_EQ(KindOf(back->spec), KindOf(spec));
    EXPECT_EQ(back->signature, base.signature);
    EXPECT_EQ(RecommendationToJson(*back), text);
  }
  EXPECT_EQ(json::parse(RecommendationToJson(base))["kind"], "create_index");
}

TEST(Recommendation, WithUnknownKindIsRefusedNamingTheField) {
  const Error e = ParseError(With("/kind", "reindex"));
  EXPECT_NE(e.message.find("recommendation rec-42: kind: must be one of create_index"),
            std::string::npos)
      << e.message;
}

TEST(Recommendation, MissingRequiredFieldIsRefusedNamingIt) {
  for (const auto& [pointer, field] : std::vector<std::pair<const char*, std::string>>{
           {"/id", "id"},
           {"/agent_id", "agent_id"},
           {"/database", "database"},
           {"/kind", "kind"},
           {"/spec", "spec"},
           {"/affected_queryids", "affected_queryids"},
           {"/guard", "guard"},
           {"/approved_by", "approved_by"},
           {"/approved_at", "approved_at"},
           {"/expires_at", "expires_at"},
           {"/spec/schema", "spec.schema"},
           {"/spec/table", "spec.table"},
           {"/spec/columns", "spec.columns"},
           {"/guard/verify_window_s", "guard.verify_window_s"},
           {"/guard/max_regression_pct", "guard.max_regression_pct"},
           {"/guard/auto_rollback", "guard.auto_rollback"},
       }) {
    const Error e = ParseError(Without(pointer));
    EXPECT_NE(e.message.find(": " + field + ": missing"), std::string::npos) << e.message;
  }
}

TEST(Recommendation, WrongTypesAndValuesAreRefusedNamingTheField) {
  for (const auto& [pointer, value, field] :
       std::vector<std::tuple<const char*, json, std::string>>{
           {"/spec/columns", "customer_id", "spec.columns"},
           {"/spec/columns", json::array(), "spec.columns"},
           {"/spec/columns/1", 5, "spec.columns[1]"},
           {"/spec/table", "", "spec.table"},
           {"/spec/table", std::string(64, 't'), "spec.table"},
           {"/spec/method", "spgist", "spec.method"},
           {"/spec/where", "", "spec.where"},
           {"/spec", json::array(), "spec"},
           {"/guard/verify_window_s", "600", "guard.verify_window_s"},
           {"/guard/verify_window_s", 0, "guard.verify_window_s"},
           {"/guard/max_regression_pct", -1, "guard.max_regression_pct"},
           {"/guard/auto_rollback", 1, "guard.auto_rollback"},
           {"/affected_queryids", "42", "affected_queryids"},
           {"/affected_queryids/1", "42", "affected_queryids[1]"},
           {"/id", "rec 42", "id"},
           {"/id", std::string(65, 'a'), "id"},
           {"/agent_id", 7, "agent_id"},
           {"/database", std::string("or\0ders", 7), "database"},
           {"/approved_at", "yesterday", "approved_at"},
           {"/signature", 5, "signature"},
       }) {
    const Error e = ParseError(With(pointer, value));
    EXPECT_NE(e.message.find(": " + field + ": "), std::string::npos)
        << pointer << ": " << e.message;
  }
}

TEST(Recommendation, UnknownKeysAreRefusedNotIgnored) {
  EXPECT_NE(
      ParseError(With("/spec/concurrently", false)).message.find("spec.concurrently: unknown"),
      std::string::npos);
  EXPECT_NE(ParseError(With("/priority", 1)).message.find("priority: unknown field"),
            std::string::npos);
  EXPECT_NE(ParseError(With("/guard/extra", 1)).message.find("guard.extra: unknown field"),
            std::string::npos);
  // A spec of another kind: create_index keys under drop_index.
  EXPECT_NE(ParseError(With("/kind", "drop_index")).message.find("unknown field"),
            std::string::npos);
}

TEST(Recommendation, TimestampsMustBeRfc3339) {
  for (const char* ok : {"2026-01-31T12:00:00Z", "2026-01-31t12:00:00.123456z",
                         "2028-02-29T23:59:60+05:30", "2026-12-31T00:00:00-00:00"}) {
    Result<Recommendation> r = ParseRecommendation(With("/expires_at", ok));
    EXPECT_TRUE(r.ok()) << ok << ": " << r.error().message;
  }
  for (const char* bad :
       {"2026-01-31", "2026-01-31 12:00:00Z", "2026-02-29T12:00:00Z", "2026-13-01T12:00:00Z",
        "2026-01-31T24:00:00Z", "2026-01-31T12:00:00", "2026-01-31T12:00:00.Z",
        "2026-01-31T12:00:00+0530", "2026-01-31T12:00:00.1234567890Z", "2026-01-31T12:00:00ZZ"}) {
    EXPECT_NE(ParseError(With("/expires_at", bad)).message.find("expires_at: must be an RFC 3339"),
              std::string::npos)
        << bad;
  }
}

TEST(Recommendation, FloatsAreRefusedEvenWhereAnIntegerFits) {
  const Error e = ParseError(With("/guard/max_regression_pct", 2.5));
  EXPECT_NE(e.message.find("integers only"), std::string::npos) << e.message;
  const std::string whole_float = std::string(kUnsigned).replace(
      std::string(kUnsigned).find("\"verify_window_s\": 600"), 22, "\"verify_window_s\": 600.0");
  EXPECT_NE(ParseError(whole_float).message.find("integers only"), std::string::npos);
}

TEST(Recommendation, DuplicateKeysAreRefused) {
  const std::string doubled = std::string(kUnsigned).replace(1, 0, R"("kind": "drop_index", )");
  EXPECT_NE(ParseError(doubled).message.find("duplicate"), std::string::npos);
}

TEST(Recommendation, ErrorsNeverEchoValues) {
  const std::string secret = std::string(300, 'x') + "SECRET";
  for (const char* pointer : {"/kind", "/id", "/approved_at", "/spec/method", "/spec/table"}) {
    EXPECT_EQ(ParseError(With(pointer, secret)).message.find("SECRET"), std::string::npos)
        << pointer;
  }
  EXPECT_EQ(ParseError(With("/SECRET_" + std::string(40, 'k'), 1)).message.find("SECRET"),
            std::string::npos);
}

TEST(Recommendation, TableDigestAndReasonRoundTripThroughJson) {
  Recommendation r = *ParseRecommendation(kUnsigned);
  r.table_digest = "9f86d081884c7d659a2feaa0c55ad015";
  r.reason = "seq scan on orders filtering customer_id: 4800 \u2192 8 (cost)";
  Recommendation drop = r;
  drop.spec = DropIndexSpec{"public", "orders_old_idx"};

  for (const Recommendation& original : {r, drop}) {
    const std::string text = RecommendationToJson(original);
    Result<Recommendation> back = ParseRecommendation(text);

    ASSERT_TRUE(back.ok()) << text << ": " << back.error().message;
    EXPECT_EQ(back->table_digest, original.table_digest);
    EXPECT_EQ(back->reason, original.reason);
    EXPECT_EQ(RecommendationToJson(*back), text);
  }
  const Result<Recommendation> without = ParseRecommendation(kUnsigned);
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without->table_digest.has_value());
  EXPECT_FALSE(without->reason.has_value());
  EXPECT_FALSE(json::parse(RecommendationToJson(*without)).contains("table_digest"));
}

TEST(Recommendation, TableDigestMustBeLowerCaseHexOfAnIndexChange) {
  for (const char* bad : {"9F86D081", "9f86-d081", "xyz", "",
                          "0123456789abcdef0123456789abcdef"
                          "0123456789abcdef0123456789abcdef0"}) {
    EXPECT_NE(ParseError(With("/table_digest", bad)).message.find("table_digest: "),
              std::string::npos)
        << bad;
  }
  json set_config = json::parse(kUnsigned);
  set_config["kind"] = "set_config";
  set_config["spec"] = {{"name", "work_mem"}, {"value", "64MB"}};
  set_config["table_digest"] = "9f86d081";
  const Error e = ParseError(set_config.dump());
  EXPECT_NE(e.message.find("table_digest: only create_index and drop_index"), std::string::npos)
      << e.message;
  set_config.erase("table_digest");
  EXPECT_TRUE(ParseRecommendation(set_config.dump()).ok());
}

TEST(RecommendationSignature, SigningBytesMatchAnIndependentImplementation) {
  Result<std::string> bytes = RecommendationSigningBytes(kUnsigned);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  EXPECT_EQ(*bytes, kSigningBytes);
  const json signed_json = json::parse(Signed(kUnsigned));
  EXPECT_EQ(signed_json["signature"], kSignature);
}

TEST(RecommendationSignature, SignedRecommendationVerifiesAndParses) {
  const std::string signed_text = Signed(kUnsigned);
  Status st = VerifyRecommendationSignature(signed_text, kPublic);
  EXPECT_TRUE(st.ok()) << st.error().message;
  Result<Recommendation> r = ParseRecommendation(signed_text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->signature, kSignature);
}

TEST(RecommendationSignature, SignatureFieldIsExcludedFromSignedBytes) {
  const std::string signed_text = Signed(kUnsigned);
  Result<std::string> bytes = RecommendationSigningBytes(signed_text);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  EXPECT_EQ(*bytes, kSigningBytes);
  EXPECT_EQ(bytes->find("signature"), std::string::npos);
  EXPECT_TRUE(Ed25519Verify(kPublic, *bytes, kSignature).ok());
}

TEST(RecommendationSignature, ReformattingDoesNotBreakTheSignature) {
  const json j = json::parse(Signed(kUnsigned));
  const std::string pretty_ascii = j.dump(4, ' ', /*ensure_ascii=*/true);
  ASSERT_NE(pretty_ascii.find("\\u00e9"), std::string::npos);
  Status st = VerifyRecommendationSignature(pretty_ascii, kPublic);
  EXPECT_TRUE(st.ok()) << st.error().message;
}

TEST(RecommendationSignature, TamperedRecommendationFailsVerification) {
  for (const auto& [pointer, value] :
       std::vector<std::pair<const char*, json>>{{"/spec/columns/0", "customer_idx"},
                                                 {"/affected_queryids/1", 43},
                                                 {"/guard/auto_rollback", false},
                                                 {"/expires_at", "2036-02-07T12:00:00Z"}}) {
    json j = json::parse(Signed(kUnsigned));
    j[json::json_pointer(pointer)] = value;
    const std::string tampered = j.dump();
    ASSERT_TRUE(ParseRecommendation(tampered).ok()) << pointer;
    Status st = VerifyRecommendationSignature(tampered, kPublic);
    ASSERT_FALSE(st.ok()) << pointer;
    EXPECT_EQ(st.error().code, ErrorCode::kPermissionDenied) << pointer;
  }
}

TEST(RecommendationSignature, UnsignedOrOtherwiseSignedIsRefused) {
  Status unsigned_st = VerifyRecommendationSignature(kUnsigned, kPublic);
  ASSERT_FALSE(unsigned_st.ok());
  EXPECT_EQ(unsigned_st.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(unsigned_st.error().message.find("not signed"), std::string::npos);

  Result<Ed25519KeyPair> other = GenerateEd25519KeyPair();
  ASSERT_TRUE(other.ok());
  Status other_key = VerifyRecommendationSignature(Signed(kUnsigned), other->public_key_b64);
  ASSERT_FALSE(other_key.ok());
  EXPECT_EQ(other_key.error().code, ErrorCode::kPermissionDenied);

  json j = json::parse(Signed(kUnsigned));
  j["signature"] = 5;
  Status not_string = VerifyRecommendationSignature(j.dump(), kPublic);
  ASSERT_FALSE(not_string.ok());
  EXPECT_EQ(not_string.error().code, ErrorCode::kInvalidArgument);

  Status bad_key = VerifyRecommendationSignature(Signed(kUnsigned), "c2hvcnQ=");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.error().code, ErrorCode::kConfig);
}

TEST(RecommendationSignature, OnlyValidUnsignedRecommendationsAreSigned) {
  Result<std::string> twice = SignRecommendationJson(Signed(kUnsigned), kSeed);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::kInvalidArgument);
  Result<std::string> invalid = SignRecommendationJson(With("/kind", "reindex"), kSeed);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, ErrorCode::kParseFailed);
}

std::string ListBody(const std::vector<std::string>& elements) {
  std::string body = R"({"protocol":"1","recommendations":[)";
  for (std::size_t i = 0; i < elements.size(); ++i) body += (i ? ",\n  " : "") + elements[i];
  return body + "]}";
}

TEST(RecommendationList, KeepsGoodOnesWhenOneIsMalformed) {
  const std::string good = Signed(kUnsigned);
  const std::string good2 = Signed(With("/id", "rec-43"));
  const std::string bad = With("/kind", "reindex");
  Result<std::vector<RecommendationEnvelope>> list =
      ParseRecommendationList(ListBody({good, bad, "42", R"({"id":"?"})", good2}));
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 5u);
  const auto& envelopes = *list;
  EXPECT_TRUE(envelopes[0].recommendation.ok());
  EXPECT_EQ(envelopes[0].id, "rec-42");
  EXPECT_EQ(envelopes[0].raw_json, good);
  EXPECT_TRUE(VerifyRecommendationSignature(envelopes[0].raw_json, kPublic).ok());
  ASSERT_FALSE(envelopes[1].recommendation.ok());
  EXPECT_EQ(envelopes[1].id, "rec-42");
  EXPECT_NE(envelopes[1].recommendation.error().message.find("kind"), std::string::npos);
  EXPECT_FALSE(envelopes[2].recommendation.ok());
  EXPECT_EQ(envelopes[2].id, "");
  EXPECT_EQ(envelopes[2].raw_json, "42");
  EXPECT_FALSE(envelopes[3].recommendation.ok());
  EXPECT_EQ(envelopes[3].id, "");
  ASSERT_TRUE(envelopes[4].recommendation.ok());
  EXPECT_EQ(envelopes[4].id, "rec-43");
  EXPECT_TRUE(VerifyRecommendationSignature(envelopes[4].raw_json, kPublic).ok());
}

TEST(RecommendationList, RawJsonIsTheElementExactlyAsReceived) {
  json j = json::parse(Signed(With("/approved_by", "ops \"team\" ]}, [{")));
  const std::string pretty = j.dump(2, ' ', /*ensure_ascii=*/true);
  const std::string body = R"({ "next" : {"cursor": "]}\"", "n": [1, {"a": []}]},)"
                           "\n \"recommendations\" : [\n" +
                           pretty + " , " + pretty + "\n ] , \"protocol\" : \"1.0\" }";
  Result<std::vector<RecommendationEnvelope>> list = ParseRecommendationList(body);
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 2u);
  for (const auto& envelope : *list) {
    EXPECT_EQ(envelope.raw_json, pretty);
    EXPECT_TRUE(VerifyRecommendationSignature(envelope.raw_json, kPublic).ok());
  }
}

TEST(RecommendationList, OnlyTheFirstElementsUpToTheLimitBecomeEnvelopes) {
  std::string body = R"({"protocol":"1","recommendations":[)";
  for (int i = 0; i < 250; ++i)
    body += (i ? "," : "") + std::string(R"({"id":"r-)") + std::to_string(i) + R"("})";
  body += "]}";
  auto list = ParseRecommendationList(body, 100);
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->total, 250u);
  ASSERT_EQ(list->envelopes.size(), 100u);
  EXPECT_EQ(list->envelopes.back().id, "r-99");
}

TEST(RecommendationList, OuterObjectIsChecked) {
  EXPECT_TRUE(ParseRecommendationList(R"({"protocol":"1.0","recommendations":[]})")->empty());
  for (const auto& [body, code] : std::vector<std::pair<std::string, ErrorCode>>{
           {"<html>", ErrorCode::kParseFailed},
           {"[]", ErrorCode::kParseFailed},
           {R"({"recommendations":[]})", ErrorCode::kParseFailed},
           {R"({"protocol":"2.0","recommendations":[]})", ErrorCode::kUnsupportedVersion},
           {R"({"protocol":"1"})", ErrorCode::kParseFailed},
           {R"({"protocol":"1","recommendations":{}})", ErrorCode::kParseFailed},
           {R"({"protocol":"1","recommendations":[],"recommendations":[]})",
            ErrorCode::kParseFailed},
       }) {
    Result<std::vector<RecommendationEnvelope>> list = ParseRecommendationList(body);
    ASSERT_FALSE(list.ok()) << body;
    EXPECT_EQ(list.error().code, code) << body << ": " << list.error().message;
  }
}

TEST(RecommendationEvent, LifecycleEventNamesAreTheWireStringsAndParseBack) {
  const std::vector<std::pair<LifecycleEvent, std::string_view>> events = {
      {LifecycleEvent::kValidated, "validated"}, {LifecycleEvent::kRejected, "rejected"},
      {LifecycleEvent::kStarted, "started"},     {LifecycleEvent::kApplied, "applied"},
      {LifecycleEvent::kFailed, "failed"},       {LifecycleEvent::kVerified, "verified"},
      {LifecycleEvent::kRegressed, "regressed"}, {LifecycleEvent::kRolledBack, "rolled_back"}};
  for (const auto& [event, name] : events) {
    EXPECT_EQ(LifecycleEventName(event), name);
    EXPECT_EQ(ParseLifecycleEvent(name), event) << name;
  }
  for (std::string_view unknown : {"", "noop", "verify_passed", "Applied", "rolled-back"}) {
    EXPECT_FALSE(ParseLifecycleEvent(unknown).has_value()) << unknown;
  }
}

TEST(RecommendationEvent, RoundTripsThroughJson) {
  const RecommendationEvent event{"rec-42", "rolled_back", "2026-01-31T12:10:00.250Z",
                                  "mean time +31% > 10%: \"index\" dropped"};
  const std::string text = RecommendationEventToJson(event);
  EXPECT_EQ(json::parse(text)["protocol"], "1.0");
  Result<RecommendationEvent> back = ParseRecommendationEvent(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->recommendation_id, event.recommendation_id);
  EXPECT_EQ(back->event, event.event);
  EXPECT_EQ(back->at, event.at);
  EXPECT_EQ(back->detail, event.detail);
}

TEST(RecommendationEvent, NewerMinorFieldsAreIgnoredAndDetailIsOptional) {
  Result<RecommendationEvent> e = ParseRecommendationEvent(
      R"({"protocol":"1.3","recommendation_id":"r1","event":"applied","at":"2026-01-31T12:00:00Z",)"
      R"("duration_ms":1200})");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->event, "applied");
  EXPECT_EQ(e->detail, "");
}

TEST(RecommendationEvent, InvalidEventsAreRefusedNamingTheField) {
  const json valid =
      json::parse(RecommendationEventToJson({"r1", "applied", "2026-01-31T12:00:00Z", ""}));
  for (const auto& [key, value, field] : std::vector<std::tuple<const char*, json, std::string>>{
           {"event", "exploded", "event"},
           {"event", nullptr, "event"},
           {"recommendation_id", "r/1", "recommendation_id"},
           {"at", "now", "at"},
           {"detail", 3, "detail"},
       }) {
    json j = valid;
    j[key] = value;
    Result<RecommendationEvent> e = ParseRecommendationEvent(j.dump());
    ASSERT_FALSE(e.ok()) << key;
    EXPECT_EQ(e.error().code, ErrorCode::kParseFailed);
    EXPECT_NE(e.error().message.find("recommendation event: " + field + ": "), std::string::npos)
        << e.error().message;
  }
  json missing = valid;
  missing.erase("at");
  EXPECT_NE(ParseRecommendationEvent(missing.dump()).error().message.find("at: missing"),
            std::string::npos);
  json newer_major = valid;
  newer_major["protocol"] = "2.0";
  EXPECT_EQ(ParseRecommendationEvent(newer_major.dump()).error().code,
            ErrorCode::kUnsupportedVersion);
}

TEST(RecommendationList, DeeplyNestedOrHugeReplyIsRefusedBeforeParsing) {
  const std::string deep =
      "{\"protocol\":\"1\",\"recommendations\":[{\"a\":" + std::string(100000, '[') +
      std::string(100000, ']') + "}]}";
  auto list = ParseRecommendationList(deep, 100);
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, ErrorCode::kParseFailed);
  EXPECT_NE(list.error().message.find("nested deeper than 64 levels"), std::string::npos)
      << list.error().message;
  std::string wide = "{\"protocol\":\"1\",\"recommendations\":[";
  for (int i = 0; i < 300000; ++i) wide += i == 0 ? "{}" : ",{}";
  wide += "]}";
  auto many = ParseRecommendationList(wide, 100);
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.error().message.find("JSON elements"), std::string::npos) << many.error().message;
}

// kUnsigned as a recommendation of `kind` with `spec` and no table digest.
std::string OfKind(const std::string& kind, const json& spec) {
  json j = json::parse(kUnsigned);
  j["kind"] = kind;
  j["spec"] = spec;
  return j.dump();
}

json TableOptions(const json& options) {
  return {{"schema", "public"}, {"table", "orders"}, {"options", options}};
}

TEST(RecommendationTableKinds, SetTableOptionsParsesOptionsSortedByName) {
  Result<Recommendation> r = ParseRecommendation(
      OfKind("set_table_options", TableOptions({{"toast.autovacuum_enabled", "false"},
                                                {"autovacuum_vacuum_scale_factor", "0.05"},
                                                {"autovacuum_analyze_threshold", "500"}})));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(KindOf(r->spec), RecommendationKind::kSetTableOptions);
  EXPECT_EQ(RecommendationKindName(KindOf(r->spec)), "set_table_options");
  const auto& spec = std::get<SetTableOptionsSpec>(r->spec);
  EXPECT_EQ(spec.schema, "public");
  EXPECT_EQ(spec.table, "orders");
  EXPECT_EQ(spec.options, (std::vector<std::pair<std::string, std::string>>{
                              {"autovacuum_analyze_threshold", "500"},
                              {"autovacuum_vacuum_scale_factor", "0.05"},
                              {"toast.autovacuum_enabled", "false"}}));
}

TEST(RecommendationTableKinds, AnalyzeTableParsesSchemaAndTableOnly) {
  Result<Recommendation> r =
      ParseRecommendation(OfKind("analyze_table", {{"schema", "public"}, {"table", "orders"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(RecommendationKindName(KindOf(r->spec)), "analyze_table");
  EXPECT_EQ(std::get<AnalyzeTableSpec>(r->spec).table, "orders");
  const Error extra = ParseError(OfKind(
      "analyze_table", {{"schema", "public"}, {"table", "orders"}, {"columns", json::array()}}));
  EXPECT_NE(extra.message.find("spec.columns: unknown field"), std::string::npos) << extra.message;
  const Error missing = ParseError(OfKind("analyze_table", {{"schema", "public"}}));
  EXPECT_NE(missing.message.find("spec.table: missing"), std::string::npos) << missing.message;
  const Error long_name =
      ParseError(OfKind("analyze_table", {{"schema", "public"}, {"table", std::string(64, 't')}}));
  EXPECT_NE(long_name.message.find("spec.table: must be an identifier"), std::string::npos);
}

TEST(RecommendationTableKinds, SetTableOptionsRefusalsNameThePathAndNeverTheValue) {
  const std::vector<std::tuple<std::string, json, std::string>> cases = {
      {"unknown option",
       {{"fillfactor", "70"}},
       "spec.options.fillfactor: not an option set_table_options may change"},
      {"toast form of an analyze option",
       {{"toast.autovacuum_analyze_threshold", "5"}},
       "spec.options.toast.autovacuum_analyze_threshold: not an option"},
      {"option name carrying SQL",
       {{"autovacuum_enabled = true); DROP TABLE x; --", "true"}},
       "spec.options: unknown option with an unusual name"},
      {"below the range",
       {{"autovacuum_vacuum_cost_limit", "0"}},
       "spec.options.autovacuum_vacuum_cost_limit: must be an integer from 1 to 10000"},
      {"above the range",
       {{"autovacuum_freeze_max_age", "2000000001"}},
       "spec.options.autovacuum_freeze_max_age: must be an integer from 100000 to 2000000000"},
      {"real above the range",
       {{"autovacuum_vacuum_scale_factor", "100.5"}},
       "spec.options.autovacuum_vacuum_scale_factor: must be a decimal number from 0 to 100"},
      {"malformed number",
       {{"autovacuum_vacuum_threshold", "12abc"}},
       "spec.options.autovacuum_vacuum_threshold: must be an integer"},
      {"exponent",
       {{"autovacuum_vacuum_scale_factor", "5e-2"}},
       "spec.options.autovacuum_vacuum_scale_factor: must be a decimal number"},
      {"bool spelled wrong",
       {{"autovacuum_enabled", "yes"}},
       "spec.options.autovacuum_enabled: must be true or false"},
      {"non-string value",
       {{"autovacuum_vacuum_threshold", 50}},
       "spec.options.autovacuum_vacuum_threshold: must be a string"},
      {"bool value",
       {{"autovacuum_enabled", true}},
       "spec.options.autovacuum_enabled: must be a string"},
      {"empty options", json::object(), "spec.options: must be an object of 1 to 16 options"},
      {"options not an object", json::array({"autovacuum_enabled"}),
       "spec.options: must be an object of 1 to 16 options"},
  };
  for (const auto& [what, options, expected] : cases) {
    const Error e = ParseError(OfKind("set_table_options", TableOptions(options)));
    EXPECT_NE(e.message.find(expected), std::string::npos) << what << ": " << e.message;
    for (const auto& item : options.items()) {
      if (item.value().is_string() && item.value().get<std::string>().size() > 2) {
        EXPECT_EQ(e.message.find(item.value().get<std::string>()), std::string::npos)
            << what << " echoes the value: " << e.message;
      }
    }
  }
}

TEST(RecommendationTableKinds, SetTableOptionsRefusesMoreThanSixteenOptions) {
  json options = json::object();
  for (const TableOptionRule& rule : kTableOptionRules) {
    options[std::string(rule.name)] =
        rule.type == TableOptionType::kBool ? "true" : std::to_string(rule.max);
    if (rule.toast) options["toast." + std::string(rule.name)] = options[std::string(rule.name)];
  }
  ASSERT_GT(options.size(), 16u);
  const Error e = ParseError(OfKind("set_table_options", TableOptions(options)));
  EXPECT_NE(e.message.find("spec.options: must be an object of 1 to 16 options"), std::string::npos)
      << e.message;
  json sixteen = json::object();
  for (const auto& item : options.items()) {
    if (sixteen.size() < 16) sixteen[item.key()] = item.value();
  }
  EXPECT_TRUE(ParseRecommendation(OfKind("set_table_options", TableOptions(sixteen))).ok());
}

TEST(RecommendationTableKinds, DuplicateOptionNamesAreRefused) {
  std::string text = OfKind("set_table_options", TableOptions({{"autovacuum_enabled", "true"}}));
  const std::string member = "\"autovacuum_enabled\":\"true\"";
  const auto at = text.find(member);
  ASSERT_NE(at, std::string::npos) << text;
  text.insert(at, "\"autovacuum_enabled\":\"false\",");
  Result<Recommendation> r = ParseRecommendation(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kParseFailed);
  EXPECT_NE(r.error().message.find("duplicate"), std::string::npos) << r.error().message;
}

TEST(RecommendationTableKinds, TableDigestIsRefusedForBothKinds) {
  for (const auto& [kind, spec] : std::vector<std::pair<std::string, json>>{
           {"set_table_options", TableOptions({{"autovacuum_enabled", "true"}})},
           {"analyze_table", {{"schema", "public"}, {"table", "orders"}}}}) {
    json j = json::parse(OfKind(kind, spec));
    j["table_digest"] = "9f86d081";
    const Error e = ParseError(j.dump());
    EXPECT_NE(e.message.find("table_digest: only create_index and drop_index"), std::string::npos)
        << kind << ": " << e.message;
  }
}

TEST(RecommendationTableKinds, KindNamesListEveryKindInOrder) {
  EXPECT_EQ(RecommendationKindNames(),
            (std::vector<std::string_view>{"create_index", "drop_index", "set_config", "rewrite",
                                           "set_table_options", "analyze_table"}));
}

}  // namespace
}  // namespace optischema::protocol

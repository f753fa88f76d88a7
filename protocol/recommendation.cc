#include "protocol/recommendation.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/time_format.h"
#include "protocol/canonical_json.h"
#include "protocol/ed25519.h"
#include "protocol/json_bounds.h"
#include "protocol/json_writer.h"
#include "protocol/messages.h"
#include "protocol/snapshot.h"
#include "protocol/table_options_allow_list.h"

namespace optischema::protocol {

using nlohmann::json;

namespace {

constexpr std::array<std::pair<RecommendationKind, std::string_view>, 6> kKinds{{
    {RecommendationKind::kCreateIndex, "create_index"},
    {RecommendationKind::kDropIndex, "drop_index"},
    {RecommendationKind::kSetConfig, "set_config"},
    {RecommendationKind::kRewrite, "rewrite"},
    {RecommendationKind::kSetTableOptions, "set_table_options"},
    {RecommendationKind::kAnalyzeTable, "analyze_table"},
}};
constexpr std::array<std::pair<IndexMethod, std::string_view>, 5> kMethods{{
    {IndexMethod::kBtree, "btree"},
    {IndexMethod::kHash, "hash"},
    {IndexMethod::kGist, "gist"},
    {IndexMethod::kGin, "gin"},
    {IndexMethod::kBrin, "brin"},
}};
constexpr std::array<std::pair<LifecycleEvent, std::string_view>, 8> kEvents{{
    {LifecycleEvent::kValidated, "validated"},
    {LifecycleEvent::kRejected, "rejected"},
    {LifecycleEvent::kStarted, "started"},
    {LifecycleEvent::kApplied, "applied"},
    {LifecycleEvent::kFailed, "failed"},
    {LifecycleEvent::kVerified, "verified"},
    {LifecycleEvent::kRegressed, "regressed"},
    {LifecycleEvent::kRolledBack, "rolled_back"},
}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool IsRecommendationId(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return IsAlpha(c) || IsDigit(c) || c == '-';
  });
}

bool IsGucName(std::string_view s) {
  return !s.empty() && s.size() <= 63 && (IsAlpha(s[0]) || s[0] == '_') &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlpha(c) || IsDigit(c) || c == '_' || c == '.'; });
}

bool IsRfc3339(std::string_view s) { return ParseRfc3339(s).has_value(); }

enum class Text {
  kAny,         // any string without U+0000
  kNonEmpty,    // and not empty
  kIdentifier,  // PostgreSQL identifier: 1..63 bytes
  kId,          // recommendation id
  kGuc,         // configuration parameter name
  kTimestamp,   // RFC 3339
};

// What is wrong with s under rule, or nullptr.
const char* CheckText(std::string_view s, Text rule) {
  if (s.find('\0') != std::string_view::npos) return "must not contain U+0000";
  switch (rule) {
    case Text::kAny:
      return nullptr;
    case Text::kNonEmpty:
      return s.empty() ? "must not be empty" : nullptr;
    case Text::kIdentifier:
      return s.empty() || s.size() > 63 ? "must be an identifier of 1 to 63 bytes" : nullptr;
    case Text::kId:
      return IsRecommendationId(s) ? nullptr : "must be 1 to 64 characters from A-Z a-z 0-9 -";
    case Text::kGuc:
      return IsGucName(s) ? nullptr : "must be a configuration parameter name";
    case Text::kTimestamp:
      return IsRfc3339(s) ? nullptr : "must be an RFC 3339 timestamp like 2026-01-31T12:00:00Z";
  }
  return nullptr;
}

// Reads typed fields out of nlohmann objects, keeping the first problem found; later reads after
// a problem return defaults and record nothing, so callers check failed() once at the end.
class FieldReader {
 public:
  bool failed() const { return !field_.empty(); }
  const std::string& field() const { return field_; }
  const std::string& problem() const { return problem_; }

  void Fail(const std::string& field, std::string problem) {
    if (failed()) return;
    field_ = field;
    problem_ = std::move(problem);
  }

  // The member, or nullptr; a missing required member is recorded.
  const json* Find(const json& obj, const std::string& path, const char* key, bool required) {
    const auto it = obj.find(key);
    if (it != obj.end()) return &*it;
    if (required) Fail(Join(path, key), "missing");
    return nullptr;
  }

  std::string String(const json& obj, const std::string& path, const char* key, Text rule) {
    const json* v = Find(obj, path, key, true);
    return v ? StringValue(*v, Join(path, key), rule) : std::string();
  }

  std::string StringValue(const json& v, const std::string& field, Text rule) {
    if (!v.is_string()) {
      Fail(field, "must be a string");
      return {};
    }
    std::string s = v.get<std::string>();
    if (const char* problem = CheckText(s, rule)) Fail(field, problem);
    return s;
  }

  std::vector<std::string> StringList(const json& obj, const std::string& path, const char* key,
                                      Text rule, bool required) {
    std::vector<std::string> out;
    const json* v = Find(obj, path, key, required);
    if (!v) return out;
    const std::string field = Join(path, key);
    if (!v->is_array()) {
      Fail(field, "must be an array of strings");
      return out;
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
      out.push_back(StringValue((*v)[i], field + "[" + std::to_string(i) + "]", rule));
    }
    return out;
  }

  int64_t Int(const json& obj, const std::string& path, const char* key, int64_t min, int64_t max) {
    const json* v = Find(obj, path, key, true);
    if (!v) return 0;
    const int64_t n = IntValue(*v);
    if (!v->is_number_integer() || n < min || n > max) {
      Fail(Join(path, key),
           "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return n;
  }

  bool Bool(const json& obj, const std::string& path, const char* key) {
    const json* v = Find(obj, path, key, true);
    if (v && !v->is_boolean()) Fail(Join(path, key), "must be true or false");
    return v && v->is_boolean() && v->get<bool>();
  }

  // Records the first key of obj not in allowed, named by its path when it is a short plain name.
  void OnlyKeys(const json& obj, const std::string& path,
                std::initializer_list<std::string_view> allowed) {
    for (const auto& item : obj.items()) {
      const std::string& key = item.key();
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      const bool plain = !key.empty() && key.size() <= 32 &&
                         std::all_of(key.begin(), key.end(),
                                     [](char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; });
      if (plain) {
        Fail(Join(path, key), "unknown field");
      } else {
        Fail(path.empty() ? "(top level)" : path, "unknown field with an unusual name");
      }
    }
  }

  // A JSON integer within int64_t (canonical JSON guarantees that range), else 0.
  static int64_t IntValue(const json& v) {
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      return u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                 ? static_cast<int64_t>(u)
                 : 0;
    }
    return v.is_number_integer() ? v.get<int64_t>() : 0;
  }

  static std::string Join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

 private:
  std::string field_;
  std::string problem_;
};

// Whether an option name may be echoed in a field path: short, of the characters option names use.
bool IsPlainOptionName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return IsAlpha(c) || IsDigit(c) || c == '_' || c == '.';
  });
}

// spec.options of a set_table_options: allow-listed names (table_options_allow_list.h) with
// string values of the allowed form and range. nlohmann keeps object members sorted by name, and
// canonical JSON has already refused duplicate names.
std::vector<std::pair<std::string, std::string>> ReadTableOptions(FieldReader& in,
                                                                  const json& options) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string path = "spec.options";
  if (!options.is_object() || options.empty() || options.size() > kMaxTableOptions) {
    in.Fail(path, "must be an object of 1 to " + std::to_string(kMaxTableOptions) +
                      " options, each name to a string value");
    return out;
  }
  for (const auto& item : options.items()) {
    const std::string& name = item.key();
    const std::optional<TableOptionName> option = FindTableOption(name);
    if (!option) {
      if (IsPlainOptionName(name)) {
        in.Fail(path + "." + name,
                "not an option set_table_options may change (the autovacuum_* options and "
                "their toast.* forms listed in docs/protocol-v1.md)");
      } else {
        in.Fail(path, "unknown option with an unusual name");
      }
      return out;
    }
    const std::string field = path + "." + name;
    if (!item.value().is_string()) {
      in.Fail(field, "must be a string, " + TableOptionRange(*option->rule));
      return out;
    }
    std::string value = item.value().get<std::string>();
    if (auto canonical = CanonicalTableOptionValue(*option->rule, value); !canonical.ok()) {
      in.Fail(field, canonical.error().message);
      return out;
    }
    out.emplace_back(name, std::move(value));
  }
  return out;
}

RecommendationSpec ReadSpec(FieldReader& in, RecommendationKind kind, const json& spec) {
  const std::string p = "spec";
  switch (kind) {
    case RecommendationKind::kCreateIndex: {
      in.OnlyKeys(
          spec, p,
          {"schema", "table", "columns", "method", "include", "where", "skip_hypopg_check"});
      CreateIndexSpec s;
      s.schema = in.String(spec, p, "schema", Text::kIdentifier);
      s.table = in.String(spec, p, "table", Text::kIdentifier);
      s.columns = in.StringList(spec, p, "columns", Text::kIdentifier, true);
      if (!in.failed() && s.columns.empty()) in.Fail("spec.columns", "must not be empty");
      if (const json* m = in.Find(spec, p, "method", false)) {
        const std::string name = in.StringValue(*m, "spec.method", Text::kNonEmpty);
        const auto it = std::find_if(kMethods.begin(), kMethods.end(),
                                     [&](const auto& e) { return e.second == name; });
        if (it == kMethods.end()) {
          in.Fail("spec.method", "must be one of btree, hash, gist, gin, brin");
        } else {
          s.method = it->first;
        }
      }
      s.include = in.StringList(spec, p, "include", Text::kIdentifier, false);
      if (const json* w = in.Find(spec, p, "where", false); w && !w->is_null()) {
        s.where = in.StringValue(*w, "spec.where", Text::kNonEmpty);
      }
      if (const json* k = in.Find(spec, p, "skip_hypopg_check", false)) {
        if (!k->is_boolean()) in.Fail("spec.skip_hypopg_check", "must be true or false");
        s.skip_hypopg_check = k->is_boolean() && k->get<bool>();
      }
      return s;
    }
    case RecommendationKind::kDropIndex:
      in.OnlyKeys(spec, p, {"schema", "index"});
      return DropIndexSpec{in.String(spec, p, "schema", Text::kIdentifier),
                           in.String(spec, p, "index", Text::kIdentifier)};
    case RecommendationKind::kSetConfig:
      in.OnlyKeys(spec, p, {"name", "value"});
      return SetConfigSpec{in.String(spec, p, "name", Text::kGuc),
                           in.String(spec, p, "value", Text::kAny)};
    case RecommendationKind::kRewrite:
      in.OnlyKeys(spec, p, {"original", "rewritten"});
      return RewriteSpec{in.String(spec, p, "original", Text::kNonEmpty),
                         in.String(spec, p, "rewritten", Text::kNonEmpty)};
    case RecommendationKind::kSetTableOptions: {
      in.OnlyKeys(spec, p, {"schema", "table", "options"});
      SetTableOptionsSpec s;
      s.schema = in.String(spec, p, "schema", Text::kIdentifier);
      s.table = in.String(spec, p, "table", Text::kIdentifier);
      if (const json* options = in.Find(spec, p, "options", true)) {
        s.options = ReadTableOptions(in, *options);
      }
      return s;
    }
    case RecommendationKind::kAnalyzeTable:
      in.OnlyKeys(spec, p, {"schema", "table"});
      return AnalyzeTableSpec{in.String(spec, p, "schema", Text::kIdentifier),
                              in.String(spec, p, "table", Text::kIdentifier)};
  }
  return RewriteSpec{};
}

void WriteSpec(JsonWriter& w, const RecommendationSpec& spec) {
  const auto strings = [&w](const std::vector<std::string>& list) {
    w.BeginArray();
    for (const auto& s : list) w.String(s);
    w.EndArray();
  };
  w.BeginObject();
  if (const auto* s = std::get_if<CreateIndexSpec>(&spec)) {
    w.Key("schema");
    w.String(s->schema);
    w.Key("table");
    w.String(s->table);
    w.Key("columns");
    strings(s->columns);
    w.Key("method");
    w.String(IndexMethodName(s->method));
    w.Key("include");
    strings(s->include);
    if (s->where) {
      w.Key("where");
      w.String(*s->where);
    }
    if (s->skip_hypopg_check) {
      w.Key("skip_hypopg_check");
      w.Bool(true);
    }
  } else if (const auto* d = std::get_if<DropIndexSpec>(&spec)) {
    w.Key("schema");
    w.String(d->schema);
    w.Key("index");
    w.String(d->index);
  } else if (const auto* c = std::get_if<SetConfigSpec>(&spec)) {
    w.Key("name");
    w.String(c->name);
    w.Key("value");
    w.String(c->value);
  } else if (const auto* r = std::get_if<RewriteSpec>(&spec)) {
    w.Key("original");
    w.String(r->original);
    w.Key("rewritten");
    w.String(r->rewritten);
  } else if (const auto* t = std::get_if<SetTableOptionsSpec>(&spec)) {
    w.Key("schema");
    w.String(t->schema);
    w.Key("table");
    w.String(t->table);
    w.Key("options");
    w.BeginObject();
    for (const auto& [name, value] : t->options) {
      w.Key(name);
      w.String(value);
    }
    w.EndObject();
  } else if (const auto* a = std::get_if<AnalyzeTableSpec>(&spec)) {
    w.Key("schema");
    w.String(a->schema);
    w.Key("table");
    w.String(a->table);
  }
  w.EndObject();
}

// Byte offsets in text that nlohmann has already accepted as JSON, so no error handling.
std::size_t SkipWhitespace(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}
std::size_t SkipString(std::string_view s, std::size_t i) {  // i at the opening quote
  for (++i; i < s.size() && s[i] != '"'; ++i) {
    if (s[i] == '\\') ++i;
  }
  return i + 1;
}
std::size_t SkipValue(std::string_view s, std::size_t i) {
  if (s[i] == '"') return SkipString(s, i);
  if (s[i] != '{' && s[i] != '[') {
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
           s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
      ++i;
    }
    return i;
  }
  int depth = 0;
  while (i < s.size()) {
    if (s[i] == '"') {
      i = SkipString(s, i);
      continue;
    }
    if (s[i] == '{' || s[i] == '[') ++depth;
    if ((s[i] == '}' || s[i] == ']') && --depth == 0) return i + 1;
    ++i;
  }
  return i;
}

// The exact text of each element of the top-level "recommendations" array of a body nlohmann
// accepted; std::nullopt when that member appears more than once.
std::optional<std::vector<std::string_view>> RecommendationTexts(std::string_view body) {
  std::optional<std::vector<std::string_view>> out;
  std::size_t i = body.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // nlohmann skips a BOM
  i = SkipWhitespace(body, i) + 1;                              // past '{'
  bool seen = false;
  while (true) {
    i = SkipWhitespace(body, i);
    if (body[i] == '}') break;
    const std::size_t key_end = SkipString(body, i);
    const bool wanted = json::parse(body.substr(i, key_end - i)) == "recommendations";
    i = SkipWhitespace(body, SkipWhitespace(body, key_end) + 1);  // past ':'
    const std::size_t value_end = SkipValue(body, i);
    if (wanted) {
      if (seen) return std::nullopt;
      seen = true;
      out.emplace();
      std::size_t e = SkipWhitespace(body, i + 1);  // past '['
      while (body[e] != ']') {
        const std::size_t element_end = SkipValue(body, e);
        out->push_back(body.substr(e, element_end - e));
        e = SkipWhitespace(body, element_end);
        if (body[e] == ',') e = SkipWhitespace(body, e + 1);
      }
    }
    i = SkipWhitespace(body, value_end);
    if (body[i] == ',') ++i;
  }
  return out;
}

}  // namespace

std::string_view RecommendationKindName(RecommendationKind kind) {
  return kKinds[static_cast<std::size_t>(kind)].second;
}

std::vector<std::string_view> RecommendationKindNames() {
  std::vector<std::string_view> names;
  for (const auto& kind : kKinds) names.push_back(kind.second);
  return names;
}

std::string_view IndexMethodName(IndexMethod method) {
  return kMethods[static_cast<std::size_t>(method)].second;
}

std::string_view LifecycleEventName(LifecycleEvent event) {
  return kEvents[static_cast<std::size_t>(event)].second;
}

std::optional<LifecycleEvent> ParseLifecycleEvent(std::string_view name) {
  for (const auto& [event, event_name] : kEvents) {
    if (event_name == name) return event;
  }
  return std::nullopt;
}

RecommendationKind KindOf(const RecommendationSpec& spec) {
  // kKinds lists the kinds in the order of RecommendationSpec's alternatives.
  static_assert(std::variant_size_v<RecommendationSpec> == kKinds.size());
  return kKinds[spec.index()].first;
}

std::string RecommendationToJson(const Recommendation& r) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("id");
  w.String(r.id);
  w.Key("agent_id");
  w.String(r.agent_id);
  w.Key("database");
  w.String(r.database);
  w.Key("kind");
  w.String(RecommendationKindName(KindOf(r.spec)));
  w.Key("spec");
  WriteSpec(w, r.spec);
  w.Key("affected_queryids");
  w.BeginArray();
  for (const int64_t q : r.affected_queryids) w.Int(q);
  w.EndArray();
  w.Key("guard");
  w.BeginObject();
  w.Key("verify_window_s");
  w.Int(r.guard.verify_window_s);
  w.Key("max_regression_pct");
  w.Int(r.guard.max_regression_pct);
  w.Key("auto_rollback");
  w.Bool(r.guard.auto_rollback);
  w.EndObject();
  w.Key("approved_by");
  w.String(r.approved_by);
  w.Key("approved_at");
  w.String(r.approved_at);
  w.Key("expires_at");
  w.String(r.expires_at);
  if (r.table_digest) {
    w.Key("table_digest");
    w.String(*r.table_digest);
  }
  if (r.reason) {
    w.Key("reason");
    w.String(*r.reason);
  }
  if (r.signature) {
    w.Key("signature");
    w.String(*r.signature);
  }
  w.EndObject();
  return out;
}

Result<Recommendation> ParseRecommendation(std::string_view text) {
  // Canonicalizing first applies the signed-bytes rules (no floats, no duplicate keys, strict
  // UTF-8), so what is parsed is exactly what a signature can cover.
  Result<std::string> canonical = CanonicalJson(text);
  if (!canonical.ok()) {
    // Name the recommendation when a lenient reading finds its id, so the refusal can be traced.
    std::string context = "recommendation";
    const json lenient = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (lenient.is_object()) {
      const auto id = lenient.find("id");
      if (id != lenient.end() && id->is_string() && IsRecommendationId(id->get<std::string>())) {
        context += " " + id->get<std::string>();
      }
    }
    return MakeError(ErrorCode::kParseFailed, context + ": " + canonical.error().message);
  }
  const json j = json::parse(*canonical, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return MakeError(ErrorCode::kParseFailed, "recommendation: not an object");

  FieldReader in;
  Recommendation r;
  in.OnlyKeys(j, "",
              {"id", "agent_id", "database", "kind", "spec", "affected_queryids", "guard",
               "approved_by", "approved_at", "expires_at", "table_digest", "reason", "signature"});
  r.id = in.String(j, "", "id", Text::kId);
  const std::string context =
      IsRecommendationId(r.id) ? "recommendation " + r.id : std::string("recommendation");
  r.agent_id = in.String(j, "", "agent_id", Text::kNonEmpty);
  r.database = in.String(j, "", "database", Text::kNonEmpty);
  const std::string kind = in.String(j, "", "kind", Text::kNonEmpty);
  const auto k =
      std::find_if(kKinds.begin(), kKinds.end(), [&](const auto& e) { return e.second == kind; });
  if (k == kKinds.end()) {
    std::string kinds;
    for (const auto& known : kKinds) {
      kinds += (kinds.empty() ? "" : ", ") + std::string(known.second);
    }
    in.Fail("kind", "must be one of " + kinds);
  }
  if (const json* spec = in.Find(j, "", "spec", true)) {
    if (!spec->is_object()) in.Fail("spec", "must be an object");
    if (!in.failed()) r.spec = ReadSpec(in, k->first, *spec);
  }
  if (const json* ids = in.Find(j, "", "affected_queryids", true)) {
    if (!ids->is_array()) in.Fail("affected_queryids", "must be an array of integers");
    for (std::size_t i = 0; !in.failed() && i < ids->size(); ++i) {
      const json& q = (*ids)[i];
      if (!q.is_number_integer()) {
        in.Fail("affected_queryids[" + std::to_string(i) + "]", "must be an integer");
      }
      r.affected_queryids.push_back(FieldReader::IntValue(q));
    }
  }
  if (const json* guard = in.Find(j, "", "guard", true)) {
    if (!guard->is_object()) in.Fail("guard", "must be an object");
    if (!in.failed()) {
      in.OnlyKeys(*guard, "guard", {"verify_window_s", "max_regression_pct", "auto_rollback"});
      r.guard.verify_window_s = in.Int(*guard, "guard", "verify_window_s", 1, 604800);
      r.guard.max_regression_pct = in.Int(*guard, "guard", "max_regression_pct", 0, 1000);
      r.guard.auto_rollback = in.Bool(*guard, "guard", "auto_rollback");
    }
  }
  r.approved_by = in.String(j, "", "approved_by", Text::kNonEmpty);
  r.approved_at = in.String(j, "", "approved_at", Text::kTimestamp);
  r.expires_at = in.String(j, "", "expires_at", Text::kTimestamp);
  if (const json* digest = in.Find(j, "", "table_digest", false)) {
    r.table_digest = in.StringValue(*digest, "table_digest", Text::kNonEmpty);
    const bool hex = std::all_of(r.table_digest->begin(), r.table_digest->end(),
                                 [](char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); });
    if (!in.failed() && (!hex || r.table_digest->size() > 64)) {
      in.Fail("table_digest", "must be 1 to 64 lower-case hex digits");
    }
    if (!in.failed() && k != kKinds.end() && k->first != RecommendationKind::kCreateIndex &&
        k->first != RecommendationKind::kDropIndex) {
      in.Fail("table_digest", "only create_index and drop_index carry a table digest");
    }
  }
  if (const json* reason = in.Find(j, "", "reason", false)) {
    r.reason = in.StringValue(*reason, "reason", Text::kAny);
  }
  if (const json* sig = in.Find(j, "", "signature", false)) {
    r.signature = in.StringValue(*sig, "signature", Text::kNonEmpty);
  }
  if (in.failed()) {
    return MakeError(ErrorCode::kParseFailed, context + ": " + in.field() + ": " + in.problem());
  }
  return r;
}

Result<std::string> RecommendationSigningBytes(std::string_view json_text) {
  return CanonicalJsonWithout(json_text, "signature");
}

Result<std::string> SignRecommendationJson(std::string_view json_without_signature,
                                           std::string_view private_key_b64) {
  Result<Recommendation> parsed = ParseRecommendation(json_without_signature);
  RETURN_IF_ERROR(parsed);
  if (parsed->signature) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "recommendation " + parsed->id + " already has a signature");
  }
  Result<std::string> bytes = RecommendationSigningBytes(json_without_signature);
  RETURN_IF_ERROR(bytes);
  Result<std::string> signature = Ed25519Sign(private_key_b64, *bytes);
  RETURN_IF_ERROR(signature);
  std::string out = std::move(bytes).value();
  out.pop_back();  // the closing brace of a non-empty object
  out += ",\"signature\":\"" + *signature + "\"}";
  return out;
}

Status VerifyRecommendationSignature(std::string_view json_text, std::string_view public_key_b64) {
  Result<std::string> bytes = RecommendationSigningBytes(json_text);
  RETURN_IF_ERROR(bytes);
  // Canonicalization succeeded: the text is an object without duplicate keys, so the signature
  // read here is the only one.
  const json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return MakeError(ErrorCode::kParseFailed, "recommendation: not an object");
  const auto sig = j.find("signature");
  if (sig == j.end()) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "recommendation is not signed: only signed recommendations are applied");
  }
  if (!sig->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "signature: must be a base64 string");
  }
  return Ed25519Verify(public_key_b64, *bytes, sig->get<std::string>());
}

Result<std::vector<RecommendationEnvelope>> ParseRecommendationList(std::string_view body) {
  auto list = ParseRecommendationList(body, SIZE_MAX);
  RETURN_IF_ERROR(list);
  return std::move(list->envelopes);
}

Result<RecommendationList> ParseRecommendationList(std::string_view body,
                                                   std::size_t max_elements) {
  if (auto shape = CheckJsonBounds(body, kReplyJsonBounds, "recommendation list"); !shape.ok()) {
    return MakeError(ErrorCode::kParseFailed, shape.error().message);
  }
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Often an HTML page from a proxy or load balancer answering in the control plane's place.
    return MakeError(ErrorCode::kParseFailed, "recommendation list is not JSON");
  }
  if (!j.is_object()) {
    return MakeError(ErrorCode::kParseFailed, "recommendation list is not a JSON object");
  }
  const auto version = j.find("protocol");
  if (version == j.end() || !version->is_string()) {
    return MakeError(ErrorCode::kParseFailed, "recommendation list has no \"protocol\" string");
  }
  if (Status st = CheckProtocolVersion(version->get<std::string>()); !st.ok()) {
    return std::move(st).error();
  }
  const auto list = j.find("recommendations");
  if (list == j.end() || !list->is_array()) {
    return MakeError(ErrorCode::kParseFailed,
                     "recommendation list has no \"recommendations\" array");
  }
  const std::optional<std::vector<std::string_view>> texts = RecommendationTexts(body);
  if (!texts) {
    return MakeError(ErrorCode::kParseFailed,
                     "recommendation list has \"recommendations\" more than once");
  }
  if (texts->size() != list->size()) {
    return MakeError(ErrorCode::kInternal, "recommendation list: element boundaries not found");
  }
  RecommendationList result;
  result.total = texts->size();
  std::vector<RecommendationEnvelope>& out = result.envelopes;
  const std::size_t taken = std::min(texts->size(), max_elements);
  out.reserve(taken);
  for (std::size_t i = 0; i < taken; ++i) {
    const json& element = (*list)[i];
    std::string id;
    if (element.is_object()) {
      const auto it = element.find("id");
      if (it != element.end() && it->is_string() && IsRecommendationId(it->get<std::string>())) {
        id = it->get<std::string>();
      }
    }
    out.push_back(RecommendationEnvelope{std::string((*texts)[i]), std::move(id),
                                         ParseRecommendation((*texts)[i])});
  }
  return result;
}

std::string RecommendationEventToJson(const RecommendationEvent& e) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("protocol");
  w.String(ProtocolVersionString());
  w.Key("recommendation_id");
  w.String(e.recommendation_id);
  w.Key("event");
  w.String(e.event);
  w.Key("at");
  w.String(e.at);
  w.Key("detail");
  w.String(e.detail);
  w.EndObject();
  return out;
}

Result<RecommendationEvent> ParseRecommendationEvent(std::string_view body) {
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError(ErrorCode::kParseFailed, "recommendation event is not a JSON object");
  }
  const auto version = j.find("protocol");
  if (version == j.end() || !version->is_string()) {
    return MakeError(ErrorCode::kParseFailed, "recommendation event has no \"protocol\" string");
  }
  if (Status st = CheckProtocolVersion(version->get<std::string>()); !st.ok()) {
    return std::move(st).error();
  }
  FieldReader in;
  RecommendationEvent e;
  e.recommendation_id = in.String(j, "", "recommendation_id", Text::kId);
  e.event = in.String(j, "", "event", Text::kNonEmpty);
  if (!in.failed() && !ParseLifecycleEvent(e.event)) {
    in.Fail("event",
            "must be one of validated, rejected, started, applied, failed, verified, regressed, "
            "rolled_back");
  }
  e.at = in.String(j, "", "at", Text::kTimestamp);
  if (const json* detail = in.Find(j, "", "detail", false)) {
    e.detail = in.StringValue(*detail, "detail", Text::kAny);
  }
  if (in.failed()) {
    return MakeError(ErrorCode::kParseFailed,
                     "recommendation event: " + in.field() + ": " + in.problem());
  }
  return e;
}

}  // namespace optischema::protocol

#include "protocol/activity_json.h"

#include <cmath>

namespace optischema::protocol {

namespace {

// Loads and ages to 3 decimals: a thousandth of a session or a millisecond.
void PutRounded(JsonWriter& w, double v) { w.Double(std::round(v * 1000) / 1000); }

void PutRoundedOrNull(JsonWriter& w, const std::optional<double>& v) {
  if (v) {
    PutRounded(w, *v);
  } else {
    w.Null();
  }
}

// Queryids as decimal strings, like the statements': JSON numbers lose 64-bit precision.
void PutQueryid(JsonWriter& w, const std::optional<int64_t>& id) {
  if (id) {
    w.String(std::to_string(*id));
  } else {
    w.Null();
  }
}

void PutChainSession(JsonWriter& w, const ChainSession& s) {
  w.BeginObject();
  w.PlainKey("pid");
  w.Int(s.pid);
  w.PlainKey("level");
  w.Int(s.level);
  w.PlainKey("queryid");
  PutQueryid(w, s.queryid);
  w.PlainKey("state");
  w.String(s.state);
  w.PlainKey("backend_type");
  w.String(s.backend_type);
  w.PlainKey("wait_class");
  w.StringOrNull(s.wait_class);
  w.PlainKey("wait_event");
  w.StringOrNull(s.wait_event);
  w.PlainKey("state_age_s");
  PutRoundedOrNull(w, s.state_age_s);
  w.PlainKey("xact_age_s");
  PutRoundedOrNull(w, s.xact_age_s);
  w.EndObject();
}

}  // namespace

void WriteActivity(JsonWriter& w, const Activity& a) {
  w.BeginObject();
  w.PlainKey("samples");
  w.Int(a.samples);
  w.PlainKey("sample_interval_s");
  PutRounded(w, a.sample_interval_s);
  w.PlainKey("statement_attribution");
  w.Bool(a.statement_attribution);
  if (a.attribution_note) {
    w.PlainKey("attribution_note");
    w.String(*a.attribution_note);
  }
  w.PlainKey("load");
  PutRounded(w, a.load);
  w.PlainKey("max_active");
  w.Int(a.max_active);
  w.PlainKey("by_wait_class");
  w.BeginArray();
  for (const ClassLoad& c : a.by_wait_class) {
    w.BeginObject();
    w.PlainKey("wait_class");
    w.String(c.wait_class);
    w.PlainKey("load");
    PutRounded(w, c.load);
    w.EndObject();
  }
  w.EndArray();
  w.PlainKey("top_waits");
  w.BeginArray();
  for (const WaitLoad& t : a.top_waits) {
    w.BeginObject();
    w.PlainKey("wait_class");
    w.String(t.wait_class);
    w.PlainKey("wait_event");
    w.StringOrNull(t.wait_event);
    w.PlainKey("load");
    PutRounded(w, t.load);
    w.EndObject();
  }
  w.EndArray();
  w.PlainKey("by_statement");
  w.BeginArray();
  for (const StatementLoad& s : a.by_statement) {
    w.BeginObject();
    w.PlainKey("queryid");
    w.String(std::to_string(s.queryid));
    w.PlainKey("wait_class");
    w.String(s.wait_class);
    w.PlainKey("load");
    PutRounded(w, s.load);
    w.EndObject();
  }
  w.EndArray();
  w.PlainKey("by_backend_type");
  w.BeginArray();
  for (const BackendTypeLoad& b : a.by_backend_type) {
    w.BeginObject();
    w.PlainKey("backend_type");
    w.String(b.backend_type);
    w.PlainKey("load");
    PutRounded(w, b.load);
    w.EndObject();
  }
  w.EndArray();
  w.PlainKey("lock_wait_samples");
  w.Int(a.lock_wait_samples);
  w.PlainKey("blocking");
  w.BeginArray();
  for (const BlockingChain& c : a.blocking) {
    w.BeginObject();
    w.PlainKey("root");
    PutChainSession(w, c.root);
    w.PlainKey("blocked");
    w.BeginArray();
    for (const ChainSession& s : c.blocked) PutChainSession(w, s);
    w.EndArray();
    w.PlainKey("depth");
    w.Int(c.depth);
    w.PlainKey("longest_wait_s");
    PutRounded(w, c.longest_wait_s);
    w.PlainKey("samples");
    w.Int(c.samples);
    w.EndObject();
  }
  w.EndArray();
  w.PlainKey("idle_in_transaction_warn_s");
  PutRounded(w, a.idle_in_transaction_warn_s);
  w.PlainKey("idle_in_transaction");
  w.BeginArray();
  for (const IdleInTransaction& i : a.idle_in_transaction) {
    w.BeginObject();
    w.PlainKey("pid");
    w.Int(i.pid);
    w.PlainKey("queryid");
    PutQueryid(w, i.queryid);
    w.PlainKey("state");
    w.String(i.state);
    w.PlainKey("idle_s");
    PutRounded(w, i.idle_s);
    w.PlainKey("xact_age_s");
    PutRoundedOrNull(w, i.xact_age_s);
    w.PlainKey("locks_held");
    w.Int(i.locks_held);
    w.PlainKey("blocking");
    w.Int(i.blocking);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

std::string ActivityToJson(const Activity& activity) {
  std::string out;
  JsonWriter w(out);
  WriteActivity(w, activity);
  return out;
}

}  // namespace optischema::protocol

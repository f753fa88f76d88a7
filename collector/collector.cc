#include "collector/collector.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "collector/delta.h"
#include "collector/sampler.h"
#include "collector/scorer.h"
#include "core/time_format.h"
#include "core/uuid.h"

namespace optischema::collector {

namespace {

// Above this many wanted texts, filtering by queryid costs more than it saves.
constexpr std::size_t kMaxTextFilterIds = 20000;
// Raw texts held during a text read before they are analyzed.
constexpr std::size_t kTextBatchBytes = std::size_t{2} << 20;

bool Changed(const protocol::WindowCounters& d) {
  return d.calls > 0 || d.total_exec_time_ms > 0 || d.total_plan_time_ms > 0;
}

constexpr protocol::ExtraCounters kNoExtra{};

bool AllZero(const protocol::ExtraCounters& values) { return values == kNoExtra; }

// out += weight × in.
void AddScaled(protocol::ExtraCounters& out, const protocol::ExtraCounters& in, double weight) {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] += weight * in[i];
}

}  // namespace

Collector::Collector(CollectorOptions options, SessionFactory connect, const Clock& clock)
    : options_(std::move(options)),
      connect_(std::move(connect)),
      clock_(clock),
      rng_(std::random_device{}()) {
  options_.max_statements_per_snapshot =
      std::max<std::size_t>(2, options_.max_statements_per_snapshot);
}

Status Collector::Connect() {
  auto session = connect_();
  RETURN_IF_ERROR(session);
  ++counters_.connects;
  auto ext = pg::DetectExtension(**session, options_.database_name);
  RETURN_IF_ERROR(ext);
  if (options_.require_all_stats_privilege) {
    if (Status st = CheckStatsPrivilege(**session); !st.ok()) return st;
  }
  auto self = (*session)->Query(
      "SELECT (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user), (SELECT oid "
      "FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()), "
      "current_setting('server_version')");
  RETURN_IF_ERROR(self);
  if (!self->rows.empty()) {
    const auto& row = self->rows[0];
    std::from_chars(row[0]->data(), row[0]->data() + row[0]->size(), own_userid_);
    std::from_chars(row[1]->data(), row[1]->data() + row[1]->size(), own_dbid_);
    server_version_ = row[2].value_or("");
  }
  std::optional<ActivityWindow> activity;
  if (options_.activity_sample_interval.count() > 0) {
    auto query = ActivityQueryFor(
        **session,
        std::chrono::duration_cast<std::chrono::seconds>(options_.idle_in_transaction_warn).count());
    RETURN_IF_ERROR(query);
    activity_query_ = *query;
    ActivityWindowOptions window;
    window.sample_interval_s =
        std::chrono::duration<double>(options_.activity_sample_interval).count();
    window.idle_in_transaction_warn_s =
        std::chrono::duration<double>(options_.idle_in_transaction_warn).count();
    activity.emplace(ActivityWindowFor(*query, window));
  }
  activity_ = std::move(activity);
  reader_.emplace(std::move(ext).value());
  session_ = std::move(session).value();
  have_baseline_ = false;
  return OkStatus();
}

Status Collector::SampleActivity() {
  if (!session_ || !activity_) return OkStatus();
  auto sample = ReadActivity(*session_, activity_query_);
  if (!sample.ok()) {
    if (sample.error().code == ErrorCode::kConnectionLost) {
      session_.reset();
      have_baseline_ = false;
    }
    return std::move(sample).error();
  }
  ++counters_.activity_samples;
  activity_->Add(*sample);
  return OkStatus();
}

Result<std::optional<protocol::Snapshot>> Collector::Collect() {
  if (!session_) {
    if (Status st = Connect(); !st.ok()) return std::move(st).error();
  }
  auto result = CollectOnce();
  if (!result.ok() && result.error().code == ErrorCode::kConnectionLost) {
    session_.reset();
    have_baseline_ = false;
  }
  return result;
}

Result<std::optional<protocol::Snapshot>> Collector::CollectOnce() {
  const auto now = clock_.Monotonic();
  InfoReading info;
  if (!reader_->InfoSql().empty()) {
    auto res = session_->Query(reader_->InfoSql());
    RETURN_IF_ERROR(res);
    if (!res->rows.empty()) {
      const auto& dealloc = res->rows[0][0];
      if (dealloc)
        std::from_chars(dealloc->data(), dealloc->data() + dealloc->size(), info.dealloc);
      info.stats_reset = res->rows[0][1];
    }
  }
  auto kpis = ReadKpis(*session_);
  RETURN_IF_ERROR(kpis);

  const bool all_reset = have_baseline_ && info.stats_reset != previous_info_.stats_reset;
  if (Status st = ReadStats(all_reset); !st.ok()) {
    // Part of the entries may hold this reading's values: only a new baseline is exact.
    have_baseline_ = false;
    return std::move(st).error();
  }
  ++counters_.readings;
  counters_.live_slots = slots_.live();

  if (!have_baseline_) {
    have_baseline_ = true;
    ++counters_.baselines;
    if (activity_) activity_->Clear();  // the window starts now
    previous_info_ = std::move(info);
    previous_kpis_ = std::move(kpis).value();
    previous_at_ = now;
    return std::optional<protocol::Snapshot>();
  }

  // Statements to classify: changed ones whose text was never analyzed, plus texts owed to the
  // control plane for statements that changed (only those can be sent now). Rate-limited; until
  // then unclassified statements go to the remainder.
  const SlotSet wanted = (changed_now_ - classified_) | (text_wanted_ & changed_now_);
  if (!wanted.isEmpty() && TextReadDue(now)) {
    // A failed text read costs classification, not the window: unclassified statements go to
    // the remainder and are read again at the next due text read. A lost connection, though,
    // ends the reading.
    last_text_read_ = now;
    if (Status st = ReadTexts(wanted); !st.ok()) {
      if (st.error().code == ErrorCode::kConnectionLost) return std::move(st).error();
      ++counters_.text_read_failures;
      last_text_read_error_ = st.error();
    }
  }

  const double window_s = std::chrono::duration<double>(now - previous_at_).count();
  protocol::Snapshot snap = BuildSnapshot(window_s, info, *kpis);
  if (activity_) {
    snap.activity = activity_->Summarize();
    activity_->Clear();
  }
  // The change list can hold every entry (~4 MiB at 100,000): released, not kept, while the
  // snapshot is serialised and sent; the next reading allocates it once again.
  changes_.Clear();
  decltype(extra_delta_)().swap(extra_delta_);
  previous_info_ = std::move(info);
  previous_kpis_ = std::move(kpis).value();
  previous_at_ = now;
  return std::optional<protocol::Snapshot>(std::move(snap));
}

Status Collector::ReadStats(bool all_reset) {
  changes_.Clear();
  extra_delta_.clear();
  changed_now_ = SlotSet();
  ++reading_no_;
  SlotSet present_now;
  StatReading row;
  StatReading previous;
  protocol::ExtraCounters extra{};
  const auto previous_extra = [this](uint32_t slot) -> const protocol::ExtraCounters& {
    const auto it = previous_extra_.find(slot);
    return it == previous_extra_.end() ? kNoExtra : it->second;
  };
  uint32_t hint = 0;
  Status st = session_->Stream(reader_->StatsSql(), [&](pg::RowFields fields) {
    if (!reader_->ParseRow(fields, &row, &extra)) {
      ++counters_.malformed_rows;
      return true;
    }
    bool created = false;
    const uint32_t slot = InternSlot(row.key, hint, &created);
    hint = slot + 1;
    if (have_baseline_) {
      const bool continued = !created && present_.contains(slot);
      protocol::WindowCounters delta;
      if (continued) previous_.Get(slot, &previous);
      const DeltaKind kind = ComputeDelta(continued ? &previous : nullptr, row, all_reset, &delta);
      if (Changed(delta)) {
        changes_.Append({slot, delta, row.min_exec_time_ms, row.max_exec_time_ms,
                         row.stddev_exec_time_ms});
        changed_now_.add(slot);
        protocol::ExtraCounters extra_delta;
        ComputeExtraDelta(previous_extra(slot), extra, kind, &extra_delta);
        if (!AllZero(extra_delta)) extra_delta_[slot] = extra_delta;
      }
    }
    previous_.Put(slot, row);
    if (!AllZero(extra)) {
      previous_extra_[slot] = extra;
    } else if (!previous_extra_.empty()) {
      previous_extra_.erase(slot);
    }
    last_seen_[slot] = reading_no_;
    present_now.add(slot);
    return true;
  });
  if (!st.ok()) return st;
  RecycleAbsentSlots(present_now);
  present_ = std::move(present_now);
  return OkStatus();
}

uint32_t Collector::InternSlot(const StatementKey& key, uint32_t hint, bool* created) {
  const uint32_t slot = slots_.InternWithHint(key, hint, created);
  if (slot >= last_seen_.size()) {
    previous_.EnsureSize(slot + 1);
    const std::size_t n = previous_.size();
    last_seen_.resize(n);
    exclusion_.resize(n);
    fingerprint_.resize(n);
  }
  if (*created) {
    live_.add(slot);
    previous_.Clear(slot);
    last_seen_[slot] = reading_no_;
    exclusion_[slot] = Exclusion::kNone;
    fingerprint_[slot] = 0;
  }
  return slot;
}

void Collector::RecycleAbsentSlots(const SlotSet& present_now) {
  const SlotSet absent = live_ - present_now;
  for (uint32_t slot : absent) {
    if (reading_no_ - last_seen_[slot] <= options_.slot_grace_readings) continue;
    slots_.Release(slot);
    previous_.Clear(slot);
    live_.remove(slot);
    previous_extra_.erase(slot);
    classified_.remove(slot);
    excluded_.remove(slot);
    text_sent_.remove(slot);
    text_wanted_.remove(slot);
    scanner_text_.remove(slot);
    if (auto it = pending_text_.find(slot); it != pending_text_.end()) {
      pending_text_bytes_ -= it->second ? it->second->size() : 0;
      pending_text_.erase(it);
    }
  }
}

bool Collector::TextReadDue(std::chrono::steady_clock::time_point now) const {
  return !last_text_read_ || now - *last_text_read_ >= options_.text_refresh_interval;
}

Status Collector::ReadTexts(const SlotSet& wanted) {
  // Texts held for statements that did not change in this reading cannot be sent in this
  // snapshot: make room for the texts of those that can.
  for (auto it = pending_text_.begin(); it != pending_text_.end();) {
    if (changed_now_.contains(it->first)) {
      ++it;
    } else {
      pending_text_bytes_ -= it->second ? it->second->size() : 0;
      text_wanted_.add(it->first);
      it = pending_text_.erase(it);
    }
  }
  std::vector<int64_t> ids;
  if (wanted.cardinality() <= kMaxTextFilterIds) {
    ids.reserve(wanted.cardinality());
    for (uint32_t slot : wanted) ids.push_back(slots_.key(slot).queryid);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
  ++counters_.text_reads;
  std::optional<int64_t> self_queryid;
  StatementKey key;
  // Texts are copied as they arrive and analyzed once the statement has ended, or whenever a
  // batch fills up: the server's backend waits while the agent analyzes, and that wait would
  // count as the statement's execution time.
  struct RawText {
    uint32_t slot;
    int64_t queryid;
    std::string raw;
  };
  std::vector<RawText> batch;
  std::size_t batch_bytes = 0;
  const auto analyze_batch = [&] {
    for (const RawText& t : batch) AnalyzeText(t.slot, t.queryid, t.raw);
    batch.clear();
    batch_bytes = 0;
  };
  Status st = session_->StreamWithParams(
      reader_->TextSql(), {StatReader::QueryIdArray(ids)}, [&](pg::RowFields fields) {
        if (fields.size() != 6 || !StatReader::ParseKey(fields, &key) || !fields[4]) return true;
        if (fields[5] && !self_queryid) {
          int64_t id = 0;
          std::from_chars(fields[5]->data(), fields[5]->data() + fields[5]->size(), id);
          self_queryid = id;
        }
        const uint32_t slot = slots_.Find(key);
        if (slot == StatementSlots::kNone || !wanted.contains(slot)) return true;
        batch.push_back({slot, key.queryid, std::string(*fields[4])});
        batch_bytes += batch.back().raw.size();
        if (batch_bytes >= kTextBatchBytes) analyze_batch();
        return true;
      });
  // Texts read before a failure are analyzed all the same.
  analyze_batch();
  if (!st.ok()) return st;
  if (self_queryid && *self_queryid != 0) {
    // The text read's own entry appears only after it ran; classify it now so it never needs a
    // text read of its own.
    bool created = false;
    const uint32_t slot = InternSlot(StatementKey{own_userid_, own_dbid_, *self_queryid, true},
                                     StatementSlots::kNone, &created);
    Classify(slot, Exclusion::kAgentOwn, "");
  }
  return OkStatus();
}

void Collector::AnalyzeText(uint32_t slot, int64_t queryid, std::string_view raw) {
  // The anonymized text is worked out only when it can be kept until the statement is sent;
  // otherwise the statement asks for it again when it is sent (text_wanted_).
  const bool owed =
      options_.send_text && !text_sent_.contains(slot) && !pending_text_.contains(slot);
  const bool room = pending_text_bytes_ + raw.size() <= options_.text_cache_bytes;
  std::optional<std::string> text;
  TextSource source = TextSource::kParser;
  if (!classified_.contains(slot)) {
    AnalyzedText analyzed =
        owed && room ? AnalyzeStatementText(raw, queryid) : ClassifyStatementText(raw, queryid);
    ++counters_.texts_analyzed;
    Classify(slot, analyzed.exclusion, std::move(analyzed.fingerprint));
    if (analyzed.exclusion != Exclusion::kNone || !owed || !room) return;
    text = std::move(analyzed.text);
    source = analyzed.text_source;
  } else {
    if (excluded_.contains(slot) || !owed) {
      text_wanted_.remove(slot);
      return;
    }
    if (!room) return;  // still owed: read again at a later text read
    AnalyzedText anonymized = AnonymizeStatementText(raw);
    text = std::move(anonymized.text);
    source = anonymized.text_source;
    ++counters_.texts_analyzed;
  }
  const std::size_t size = text ? text->size() : 0;
  if (pending_text_bytes_ + size <= options_.text_cache_bytes) {
    text_wanted_.remove(slot);
    pending_text_bytes_ += size;
    pending_text_[slot] = std::move(text);
    if (source == TextSource::kScanner) {
      scanner_text_.add(slot);
    } else {
      scanner_text_.remove(slot);
    }
  }
}

void Collector::Classify(uint32_t slot, Exclusion exclusion, std::string fingerprint) {
  classified_.add(slot);
  exclusion_[slot] = exclusion;
  uint64_t value = 0;
  std::from_chars(fingerprint.data(), fingerprint.data() + fingerprint.size(), value, 16);
  fingerprint_[slot] = value;
  if (exclusion != Exclusion::kNone) {
    excluded_.add(slot);
  } else {
    excluded_.remove(slot);
  }
}

protocol::StatementMetrics Collector::MakeStatement(const Change& change, double total_time_ms,
                                                    double weight) {
  const uint32_t slot = change.slot;
  const protocol::WindowCounters& delta = change.delta;
  const StatementKey& key = slots_.key(slot);
  protocol::StatementMetrics s;
  s.queryid = key.queryid;
  s.userid = key.userid;
  s.toplevel = key.toplevel;
  static constexpr char kHex[] = "0123456789abcdef";
  char hex[16];
  for (int i = 0; i < 16; ++i) hex[i] = kHex[fingerprint_[slot] >> (60 - 4 * i) & 0xF];
  s.fingerprint.assign(hex, sizeof hex);
  s.window = delta;
  if (auto it = extra_delta_.find(slot); it != extra_delta_.end()) s.extra = it->second;
  s.mean_exec_time_ms =
      delta.calls > 0 ? delta.total_exec_time_ms / static_cast<double>(delta.calls) : 0.0;
  s.cumulative_min_exec_time_ms = change.min_exec_time_ms;
  s.cumulative_max_exec_time_ms = change.max_exec_time_ms;
  s.cumulative_stddev_exec_time_ms = change.stddev_exec_time_ms;
  s.time_pct = total_time_ms > 0 ? 100.0 * delta.total_exec_time_ms / total_time_ms : 0.0;
  s.duration_class = ClassifyDuration(s.mean_exec_time_ms);
  s.score = ScoreStatement(delta, s.mean_exec_time_ms, s.time_pct);
  s.sample_weight = weight;
  if (options_.send_text && !text_sent_.contains(slot)) {
    if (auto it = pending_text_.find(slot); it != pending_text_.end()) {
      s.include_text = true;
      s.text = std::move(it->second);
      pending_text_bytes_ -= s.text ? s.text->size() : 0;
      pending_text_.erase(it);
      text_sent_.add(slot);
      s.text_source = scanner_text_.contains(slot) ? TextSource::kScanner : TextSource::kParser;
    } else {
      text_wanted_.add(slot);  // evicted from the cache: fetch again at the next text read
    }
  }
  return s;
}

protocol::Snapshot Collector::BuildSnapshot(double window_s, const InfoReading& info,
                                            const KpiReading& kpis) {
  protocol::Snapshot snap;
  snap.snapshot_id = NewUuidV4();
  snap.database = options_.database_name;
  snap.collected_at = FormatRfc3339(clock_.Now());
  snap.window_s = window_s;
  snap.server.server_version_num = session_->ServerVersionNum();
  snap.server.server_version = server_version_;
  snap.server.extension_version = reader_->extension().version;
  snap.server.extra_counters = reader_->extra_counters();
  snap.server.stats_reset = info.stats_reset;
  snap.server.stats_reset_in_window = info.stats_reset != previous_info_.stats_reset;
  snap.server.dealloc_delta = CounterGrowth(previous_info_.dealloc, info.dealloc);
  snap.kpis = WindowKpis(previous_kpis_, kpis, window_s);

  // Partition the changed entries. Totals cover everything not filtered out, including entries
  // not classified yet, so that time_pct and the remainder stay exact.
  std::vector<SampleCandidate> candidates;
  candidates.reserve(changes_.size());
  protocol::WeightedCounters truth;
  protocol::ExtraCounters truth_extra{};
  int64_t unclassified = 0;
  changes_.ForEach([&](ChangeLog::Id id, const Change& c) {
    if (excluded_.contains(c.slot)) {
      ++snap.excluded_statements;
      return;
    }
    protocol::AddWeighted(truth, c.delta, 1.0);
    if (!extra_delta_.empty()) {
      if (auto it = extra_delta_.find(c.slot); it != extra_delta_.end()) {
        AddScaled(truth_extra, it->second, 1.0);
      }
    }
    if (!classified_.contains(c.slot)) {
      ++unclassified;
      return;
    }
    candidates.push_back({id, c.delta.total_exec_time_ms});
  });
  const double total_time = truth.total_exec_time_ms;
  const std::size_t candidate_count = candidates.size();

  // Sampling sorts the candidates in place: no second copy of them.
  const SamplePlan plan =
      PlanSample(std::move(candidates), options_.max_statements_per_snapshot, rng_());
  protocol::WeightedCounters sent;
  protocol::ExtraCounters sent_extra{};
  snap.statements.reserve(plan.chosen.size());
  for (const SampleChoice& choice : plan.chosen) {
    const Change c = changes_.Get(choice.index);
    snap.statements.push_back(MakeStatement(c, total_time, choice.weight));
    protocol::AddWeighted(sent, c.delta, choice.weight);
    AddScaled(sent_extra, snap.statements.back().extra, choice.weight);
  }
  for (std::size_t i = 0; i < truth_extra.size(); ++i) {
    snap.remainder.extra[i] = truth_extra[i] - sent_extra[i];
  }

  protocol::ForEachCounter([](const char*, double& r, double t, double s) { r = t - s; },
                           snap.remainder.window, truth, sent);
  snap.remainder.statements =
      static_cast<int64_t>(candidate_count - plan.chosen.size()) + unclassified;
  snap.remainder.unclassified_statements = unclassified;
  snap.remainder.time_pct =
      total_time > 0 ? 100.0 * snap.remainder.window.total_exec_time_ms / total_time : 0.0;

  snap.sampling.applied = plan.applied;
  snap.sampling.max_statements = static_cast<int64_t>(options_.max_statements_per_snapshot);
  snap.sampling.changed_statements = static_cast<int64_t>(candidate_count) + unclassified;
  snap.sampling.sent_statements = static_cast<int64_t>(plan.chosen.size());
  snap.sampling.head_statements = static_cast<int64_t>(plan.head);
  snap.sampling.tail_statements = static_cast<int64_t>(plan.tail);
  snap.sampling.sampled_statements = static_cast<int64_t>(plan.sampled);
  snap.sampling.tail_probability = plan.tail_probability;
  return snap;
}

}  // namespace optischema::collector

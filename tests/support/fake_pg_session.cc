#include "tests/support/fake_pg_session.h"

#include <algorithm>
#include <bit>
#include <set>
#include <string_view>

#include "pg/stat_statements_extension.h"

namespace optischema::testing {

namespace {

using pg::QueryResult;
using pg::RowCallback;
using pg::RowFields;

QueryResult Rows(std::vector<std::vector<std::optional<std::string>>> rows) {
  QueryResult r;
  r.rows = std::move(rows);
  return r;
}

// PostgreSQL binary send format of an integer of `size` bytes, or of a float8.
std::string Binary(uint64_t value, std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    out[size - 1 - i] = static_cast<char>(value & 0xFF);
    value >>= 8;
  }
  return out;
}
std::string Binary(double value) { return Binary(std::bit_cast<uint64_t>(value), 8); }

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

class FakePgSession final : public pg::PgSession {
 public:
  explicit FakePgSession(FakeServer& server) : server_(server) {}

  Result<QueryResult> Query(std::string_view sql) override {
    server_.statements.emplace_back(sql);
    if (server_.fail_next) return Take(server_.fail_next);
    if (Contains(sql, "pg_extension")) {
      if (!server_.extension_installed) return Rows({});
      return Rows({{server_.extension_version, "public"}});
    }
    if (Contains(sql, "server_version")) return Rows({{"10", "5", "15.4"}});
    if (Contains(sql, "pg_roles")) {
      return Rows({{"monitor", server_.can_read_all_stats ? "t" : "f"}});
    }
    if (Contains(sql, "pg_stat_statements_info")) {
      return Rows({{std::to_string(server_.dealloc), server_.stats_reset}});
    }
    if (Contains(sql, "pg_stat_database")) {
      return Rows({{std::to_string(server_.xacts), "900", "100", "3", "100"}});
    }
    if (Contains(sql, "pg_stat_activity")) return Rows({{"active", "1"}, {"idle", "2"}});
    return QueryResult{};
  }

  Status Stream(std::string_view sql, const RowCallback& on_row) override {
    server_.statements.emplace_back(sql);
    if (server_.fail_next) return Take(server_.fail_next);
    ++server_.stats_reads;
    if (server_.fail_stream) return Take(server_.fail_stream);
    std::vector<std::string> values;
    std::vector<std::optional<std::string_view>> fields;
    int major = 0;
    int minor = 0;
    pg::ParseExtensionVersion(server_.extension_version, &major, &minor);
    const protocol::ExtraCounterMask extra = protocol::ExtraCountersOfVersion(major, minor);
    for (const FakeEntry& e : server_.entries) {
      values = {Binary(e.userid, 4),
                Binary(e.dbid, 4),
                Binary(e.toplevel ? 1u : 0u, 1),
                Binary(static_cast<uint64_t>(e.queryid), 8),
                Binary(static_cast<uint64_t>(e.calls), 8),
                Binary(e.total_exec_time_ms),
                Binary(0.0),
                Binary(static_cast<uint64_t>(e.rows), 8),
                Binary(static_cast<uint64_t>(e.shared_blks_hit), 8),
                Binary(static_cast<uint64_t>(e.shared_blks_read), 8),
                Binary(0, 8),
                Binary(0, 8),
                Binary(0, 8),
                Binary(static_cast<uint64_t>(e.temp_blks_written), 8),
                Binary(0.0),
                Binary(0.0),
                Binary(0, 8),
                Binary(0.0),
                Binary(0.5),
                Binary(9.5),
                Binary(1.25),
                Binary(e.stats_since)};
      for (std::size_t i = 0; i < protocol::kExtraCounterCount; ++i) {
        if (!protocol::HasExtraCounter(extra, i)) continue;
        values.push_back(protocol::kExtraCounters[i].integer
                             ? Binary(static_cast<uint64_t>(e.extra[i]), 8)
                             : Binary(e.extra[i]));
      }
      fields.assign(values.begin(), values.end());
      if (!on_row(RowFields(fields.data(), fields.size()))) break;
    }
    return OkStatus();
  }

  Status StreamWithParams(std::string_view sql,
                          const std::vector<std::optional<std::string>>& params,
                          const RowCallback& on_row) override {
    server_.statements.emplace_back(sql);
    if (server_.fail_next) return Take(server_.fail_next);
    ++server_.text_reads;
    if (server_.fail_text_read) return Take(server_.fail_text_read);
    std::set<std::string> ids;
    if (!params.empty() && params[0]) {
      std::string list = params[0]->substr(1, params[0]->size() - 2);
      for (std::size_t start = 0; start <= list.size();) {
        const std::size_t comma = std::min(list.find(',', start), list.size());
        ids.insert(list.substr(start, comma - start));
        start = comma + 1;
      }
    }
    std::vector<std::string> values;
    std::vector<std::optional<std::string_view>> fields;
    for (const FakeEntry& e : server_.entries) {
      if (!ids.empty() && !ids.contains(std::to_string(e.queryid))) continue;
      values = {std::to_string(e.userid),
                std::to_string(e.dbid),
                e.toplevel ? "t" : "f",
                std::to_string(e.queryid),
                e.text,
                std::to_string(kTextReadQueryId)};
      fields.assign(values.begin(), values.end());
      if (!on_row(RowFields(fields.data(), fields.size()))) break;
    }
    return OkStatus();
  }

  int ServerVersionNum() const override { return 150004; }

 private:
  // Returns the injected failure and clears it, so it fires once.
  static Error Take(std::optional<Error>& failure) {
    Error e = *failure;
    failure.reset();
    return e;
  }

  FakeServer& server_;
};

}  // namespace

FakeEntry* FakeServer::Find(int64_t queryid) {
  auto it = std::find_if(entries.begin(), entries.end(),
                         [queryid](const FakeEntry& e) { return e.queryid == queryid; });
  return it == entries.end() ? nullptr : &*it;
}

collector::SessionFactory FakeServer::Factory() {
  return [this]() -> Result<std::unique_ptr<pg::PgSession>> {
    ++connects;
    return std::unique_ptr<pg::PgSession>(std::make_unique<FakePgSession>(*this));
  };
}

}  // namespace optischema::testing

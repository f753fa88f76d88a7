#include "cli/audit_command.h"

#include <algorithm>
#include <array>
#include <ostream>
#include <string_view>
#include <vector>

#include "agent/state_dir.h"
#include "applier/audit_log.h"

namespace optischema::cli {

namespace {

constexpr std::size_t kDetailWidth = 60;

// Characters (code points) of UTF-8 text.
std::size_t Width(std::string_view text) {
  std::size_t width = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

// `text` on one line (whitespace and control character runs become one space, trimmed), cut to
// at most `width` characters with "..." marking the cut.
std::string OneLine(std::string_view text, std::size_t width) {
  std::string line;
  bool space = false;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '\x7f') {
      space = !line.empty();
      continue;
    }
    if (space) line.push_back(' ');
    space = false;
    line.push_back(c);
  }
  if (Width(line) <= width) return line;
  std::size_t kept = 0;
  std::size_t end = 0;
  for (; end < line.size(); ++end) {
    if ((static_cast<unsigned char>(line[end]) & 0xC0) != 0x80 && kept++ == width - 3) break;
  }
  return line.substr(0, end) + "...";
}

void PrintTable(const std::vector<applier::AuditRecord>& records, std::ostream& out) {
  using Row = std::array<std::string, 6>;
  std::vector<Row> rows = {{"seq", "ts", "recommendation_id", "database", "step", "detail"}};
  for (const applier::AuditRecord& r : records) {
    rows.push_back({std::to_string(r.seq), r.ts, OneLine(r.recommendation_id, 64),
                    OneLine(r.database, 64), std::string(applier::AuditStepName(r.step)),
                    OneLine(r.detail, kDetailWidth)});
  }
  std::array<std::size_t, 6> widths{};
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  }
  for (const Row& row : rows) {
    std::string line;
    for (std::size_t i = 0; i + 1 < row.size(); ++i) {
      line += row[i];
      line.append(widths[i] - Width(row[i]) + 2, ' ');
    }
    line += row.back();
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

void PrintBreak(const applier::AuditVerification& v, const std::string& path, std::ostream& err) {
  err << "optischema-agent: " << path << ": audit chain broken at seq " << v.first_bad_seq << " ("
      << v.reason << "); later records are not shown\n";
}

}  // namespace

int RunAuditList(const std::string& state_dir, bool json, std::ostream& out, std::ostream& err) {
  const std::string path = agent::StateDir(state_dir).AuditLogFile();
  const applier::AuditFileContents contents = applier::ReadAuditFile(path);
  const applier::AuditVerification& v = contents.verification;
  if (!v.ok && v.first_bad_seq == 0) {
    err << "optischema-agent: " << v.reason << "\n";
    return 1;
  }
  if (json) {
    out << "[";
    for (std::size_t i = 0; i < contents.records.size(); ++i) {
      Result<std::string> record = applier::AuditRecordJson(contents.records[i]);
      if (!record.ok()) {
        out << "]\n";
        err << "optischema-agent: " << path << ": seq " << contents.records[i].seq << ": "
            << record.error().message << "\n";
        return 1;
      }
      out << (i == 0 ? "" : ",") << *record;
    }
    out << "]\n";
  } else if (!v.exists) {
    out << "no audit log yet (" << path << ")\n";
  } else if (contents.records.empty() && v.ok) {
    out << "no audit records yet (" << path << ")\n";
  } else {
    PrintTable(contents.records, out);
  }
  if (!v.ok) {
    PrintBreak(v, path, err);
    return 1;
  }
  return 0;
}

int RunAuditVerify(const std::string& state_dir, std::ostream& out, std::ostream& err) {
  const std::string path = agent::StateDir(state_dir).AuditLogFile();
  const applier::AuditVerification v = applier::VerifyAuditFile(path);
  if (!v.exists) {
    out << "no audit log yet (" << path << ")\n";
    return 0;
  }
  if (v.ok) {
    out << "audit chain OK: " << v.records << " records\n";
    if (v.torn_tail) {
      err << "optischema-agent: " << path
          << ": the last line is incomplete (an interrupted write, or a write in progress); it "
             "is not a record, and the agent removes it at its next start\n";
    }
    return 0;
  }
  if (v.first_bad_seq == 0) {
    err << "optischema-agent: " << v.reason << "\n";
    return 1;
  }
  out << "audit chain broken after " << v.records << " valid records\n"
      << "first bad seq: " << v.first_bad_seq << " (" << v.reason << ")\n";
  return 1;
}

}  // namespace optischema::cli

#include "controlplane/command_output.h"

#include <algorithm>
#include <limits>

#include "controlplane/input_limits.h"
#include "protocol/json_bounds.h"

namespace optischema::controlplane {

int ReportError(const Error& error, std::ostream& err) {
  err << "optischema-controlplane: " << error.message << "\n";
  switch (error.code) {
    case ErrorCode::kIo:
    case ErrorCode::kTimeout:
    case ErrorCode::kInternal:
      return kExitFailure;
    default:
      return kExitUsage;
  }
}

nlohmann::json StoredJson(const std::string& text) {
  // Printing recurses: a body nested past the bound (stored before requests were bounded) would
  // overflow the stack.
  if (!protocol::CheckJsonBounds(text, {kMaxJsonDepth, std::numeric_limits<std::size_t>::max()})
           .ok()) {
    return nlohmann::json();
  }
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return json.is_discarded() ? nlohmann::json() : json;
}

void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

}  // namespace optischema::controlplane

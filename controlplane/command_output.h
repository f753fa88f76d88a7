#pragma once

// What the CLI commands share: exit statuses, error reports and output formats.
//
// Exit statuses: 0 success, 1 the store or the system failed (kIo, kTimeout, kInternal), 2 a
// usage, configuration or input error the operator can fix (every other code).

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "core/result.h"

namespace optischema::controlplane {

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Writes "optischema-controlplane: <message>" to `err`; returns the exit status for the error.
int ReportError(const Error& error, std::ostream& err);

// Stored JSON text back as JSON; null if it does not parse or nests deeper than kMaxJsonDepth
// (which what is stored now rules out; a control plane before the input bounds stored anything).
nlohmann::json StoredJson(const std::string& text);

// Rows as left-aligned columns two spaces apart, the first row being the header.
void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

}  // namespace optischema::controlplane

#pragma once

// Logging: spdlog to stderr, as text or one JSON object per line. The logger is the one global of
// the process; SetupLogging may be called again (configuration reload) and replaces it.
//
// Lines carry a message and named fields (database, snapshot_id, ...). In JSON each field is a
// top-level key next to "ts", "level" and "msg"; in text a field is appended as key=value (quoted
// when it holds a space). Every line, message and fields, goes through Redact() with the secrets
// given to SetupLogging before it is written.

#include <spdlog/common.h>
#include <spdlog/sinks/sink.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace optischema {

enum class LogFormat { kText, kJson };
enum class LogOutput { kStderr, kStdout };

struct LogField {
  std::string_view key;  // a fixed name: "database", "snapshot_id", "error", ...
  std::string value;
};

// Installs the default logger writing to `sink`. With `sink` null: the first call installs a
// logger on stderr or stdout (`output`), later calls (configuration reload) change its format,
// level and secrets in place (not its output),
// safely while other threads log. With a sink (tests): a new logger replaces the default one; no
// other thread may be logging then. `secrets` (API key, database passwords) are masked in every
// line. Errors (kConfig) for an unknown level name.
Status SetupLogging(LogFormat format, const std::string& level,
                    std::vector<std::string> secrets = {},
                    std::shared_ptr<spdlog::sinks::sink> sink = nullptr,
                    LogOutput output = LogOutput::kStderr);

// Logs `message` with `fields` through the default logger. Thread-safe.
void LogEvent(spdlog::level::level_enum level, std::string_view message,
              std::initializer_list<LogField> fields = {});

}  // namespace optischema

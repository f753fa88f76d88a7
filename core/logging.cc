#include "core/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/redaction.h"
#include "core/time_format.h"

namespace optischema {

namespace {

// LogEvent encodes its fields into the spdlog payload: message, then for each field
// kFieldMark key kValueMark value. Both marks are control characters that LogEvent replaces in
// messages and values, so the encoding is unambiguous.
constexpr char kFieldMark = '\x1f';
constexpr std::string_view kLoggerName = "optischema";
constexpr char kValueMark = '\x1e';

struct DecodedLine {
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;
};

DecodedLine Decode(std::string_view payload, const std::vector<std::string>& secrets) {
  DecodedLine line;
  std::size_t end = payload.find(kFieldMark);
  line.message = std::string(payload.substr(0, end));
  Redact(line.message, secrets);
  while (end != std::string_view::npos) {
    const std::size_t start = end + 1;
    end = payload.find(kFieldMark, start);
    const std::string_view field = payload.substr(start, end == payload.npos ? end : end - start);
    const std::size_t mark = field.find(kValueMark);
    if (mark == std::string_view::npos) continue;
    std::string value(field.substr(mark + 1));
    Redact(value, secrets);
    line.fields.emplace_back(std::string(field.substr(0, mark)), std::move(value));
  }
  return line;
}

std::string LevelName(spdlog::level::level_enum level) {
  const auto name = spdlog::level::to_string_view(level);
  return std::string(name.data(), name.size());
}

std::string Timestamp(const spdlog::details::log_msg& msg) {
  return FormatRfc3339(std::chrono::time_point_cast<std::chrono::system_clock::duration>(msg.time));
}

// One JSON object per line: {"ts", "level", "msg", fields...}. Escaping is nlohmann's, so any
// text is safe.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  explicit JsonLineFormatter(std::shared_ptr<const std::vector<std::string>> secrets)
      : secrets_(std::move(secrets)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    DecodedLine line = Decode(std::string_view(msg.payload.data(), msg.payload.size()), *secrets_);
    nlohmann::ordered_json j;
    j["ts"] = Timestamp(msg);
    j["level"] = LevelName(msg.level);
    j["msg"] = std::move(line.message);
    for (auto& [key, value] : line.fields) {
      if (key != "ts" && key != "level" && key != "msg") j[key] = std::move(value);
    }
    const std::string text =
        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLineFormatter>(secrets_);
  }

 private:
  std::shared_ptr<const std::vector<std::string>> secrets_;
};

// "2026-11-22T10:00:00.000Z info message key=value key2="a value"".
class TextLineFormatter final : public spdlog::formatter {
 public:
  explicit TextLineFormatter(std::shared_ptr<const std::vector<std::string>> secrets)
      : secrets_(std::move(secrets)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    DecodedLine line = Decode(std::string_view(msg.payload.data(), msg.payload.size()), *secrets_);
    std::string text = Timestamp(msg) + " " + LevelName(msg.level) + " " + line.message;
    for (const auto& [key, value] : line.fields) {
      text += " " + key + "=";
      if (value.empty() || value.find_first_of(" \"=") != std::string::npos) {
        text += '"';
        for (char c : value) {
          if (c == '"' || c == '\\') text += '\\';
          text += c;
        }
        text += '"';
      } else {
        text += value;
      }
    }
    text += "\n";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextLineFormatter>(secrets_);
  }

 private:
  std::shared_ptr<const std::vector<std::string>> secrets_;
};

// `text` with the field marks and line breaks replaced, so a value cannot forge fields or lines.
void AppendClean(std::string& out, std::string_view text) {
  for (char c : text) {
    out += (c == kFieldMark || c == kValueMark || c == '\n' || c == '\r') ? ' ' : c;
  }
}

}  // namespace

Status SetupLogging(LogFormat format, const std::string& level, std::vector<std::string> secrets,
                    std::shared_ptr<spdlog::sinks::sink> sink, LogOutput output) {
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return MakeError(ErrorCode::kConfig, "log_level: unknown level \"" + level +
                                             "\"; use trace, debug, info, warn, error, critical "
                                             "or off");
  }
  // Longest first, so that a secret containing another is masked whole.
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  auto shared_secrets = std::make_shared<const std::vector<std::string>>(std::move(secrets));
  std::unique_ptr<spdlog::formatter> formatter;
  if (format == LogFormat::kJson) {
    formatter = std::make_unique<JsonLineFormatter>(shared_secrets);
  } else {
    formatter = std::make_unique<TextLineFormatter>(shared_secrets);
  }
  // A reload changes the process's logger in place: other threads may be logging through it, and
  // spdlog does not allow replacing the default logger while they do.
  const std::shared_ptr<spdlog::logger> current = spdlog::default_logger();
  if (sink == nullptr && current != nullptr && current->name() == kLoggerName) {
    current->set_formatter(std::move(formatter));
    current->set_level(lvl);
    return OkStatus();
  }
  // A logger on a given sink gets another name, so the next call without one replaces it.
  const std::string name = std::string(kLoggerName) + (sink == nullptr ? "" : "-sink");
  if (sink == nullptr && output == LogOutput::kStdout) {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  } else if (sink == nullptr) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
  logger->set_formatter(std::move(formatter));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
  return OkStatus();
}

void LogEvent(spdlog::level::level_enum level, std::string_view message,
              std::initializer_list<LogField> fields) {
  const auto logger = spdlog::default_logger();
  if (!logger->should_log(level)) return;
  std::string payload;
  AppendClean(payload, message);
  for (const LogField& field : fields) {
    payload += kFieldMark;
    AppendClean(payload, field.key);
    payload += kValueMark;
    AppendClean(payload, field.value);
  }
  logger->log(level, "{}", payload);
}

}  // namespace optischema

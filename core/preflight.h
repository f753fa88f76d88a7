#pragma once

// One line of `optischema-agent check`: what was checked, how it went, and what to do about it.

#include <string>

namespace optischema {

enum class CheckLevel { kOk, kWarn, kFail };

// "OK", "WARN", "FAIL".
inline const char* CheckLevelName(CheckLevel level) {
  switch (level) {
    case CheckLevel::kOk:
      return "OK";
    case CheckLevel::kWarn:
      return "WARN";
    case CheckLevel::kFail:
      return "FAIL";
  }
  return "FAIL";
}

struct CheckItem {
  std::string check;    // stable short name, e.g. "shared_preload_libraries"
  std::string subject;  // what it is about: "config", "database orders", "control plane"
  CheckLevel level = CheckLevel::kOk;
  std::string message;  // what was found
  std::string fix;      // what to do (empty for OK)
};

inline CheckItem Ok(std::string check, std::string subject, std::string message) {
  return {std::move(check), std::move(subject), CheckLevel::kOk, std::move(message), ""};
}
inline CheckItem Warn(std::string check, std::string subject, std::string message,
                      std::string fix) {
  return {std::move(check), std::move(subject), CheckLevel::kWarn, std::move(message),
          std::move(fix)};
}
inline CheckItem Fail(std::string check, std::string subject, std::string message,
                      std::string fix) {
  return {std::move(check), std::move(subject), CheckLevel::kFail, std::move(message),
          std::move(fix)};
}

}  // namespace optischema

#include "agent/advisor_history.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/file_io.h"

namespace optischema::agent {

Result<advisor::IndexHistory> LoadAdvisorHistory(const StateDir& state_dir,
                                                 const std::string& database) {
  const std::string path = state_dir.AdvisorHistoryFile(database);
  auto text = ReadFileIfExists(path);
  RETURN_IF_ERROR(text);
  if (!*text) return advisor::IndexHistory();
  const nlohmann::json j = nlohmann::json::parse(**text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("indexes") || !j["indexes"].is_object()) {
    return MakeError(ErrorCode::kParseFailed, path + ": not an advisor history");
  }
  advisor::IndexHistory history;
  for (const auto& [oid, watch] : j["indexes"].items()) {
    if (!watch.is_array() || watch.size() != 2 || !watch[0].is_number_integer() ||
        !watch[1].is_number_integer()) {
      return MakeError(ErrorCode::kParseFailed, path + ": index " + oid + " is malformed");
    }
    uint32_t key = 0;
    if (std::sscanf(oid.c_str(), "%u", &key) != 1) {
      return MakeError(ErrorCode::kParseFailed, path + ": index key " + oid + " is not an oid");
    }
    history[key] = {watch[0].get<int64_t>(), watch[1].get<int64_t>()};
  }
  return history;
}

Status SaveAdvisorHistory(const StateDir& state_dir, const std::string& database,
                          const advisor::IndexHistory& history) {
  const std::string dir = state_dir.AdvisorDir();
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return IoErrorFromErrno(dir, "mkdir");
  nlohmann::json indexes = nlohmann::json::object();
  for (const auto& [oid, watch] : history) {
    indexes[std::to_string(oid)] = {watch.since_s, watch.scans};
  }
  return ReplaceFile(SystemFs(), state_dir.AdvisorHistoryFile(database),
                     nlohmann::json{{"version", 1}, {"indexes", indexes}}.dump() + "\n", 0600);
}

}  // namespace optischema::agent

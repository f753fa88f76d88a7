#include "controlplane/json_members.h"

namespace optischema::controlplane {

const nlohmann::json& AnyMember(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kNull;
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string StringMember(const nlohmann::json& object, const char* key) {
  const nlohmann::json& member = AnyMember(object, key);
  return member.is_string() ? member.get<std::string>() : std::string();
}

std::optional<double> NumberMember(const nlohmann::json& object, const char* key) {
  const nlohmann::json& member = AnyMember(object, key);
  if (!member.is_number()) return std::nullopt;
  return member.get<double>();
}

const nlohmann::json& ArrayMember(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  const nlohmann::json& member = AnyMember(object, key);
  return member.is_array() ? member : kEmpty;
}

}  // namespace optischema::controlplane

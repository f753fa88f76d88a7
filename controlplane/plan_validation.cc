#include "controlplane/plan_validation.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

#include "controlplane/message_validation.h"
#include "protocol/statement_plan.h"

namespace optischema::controlplane {
namespace {

constexpr std::size_t kFingerprintDigits = 16;

template <std::size_t N>
bool Holds(const std::string_view (&keys)[N], std::string_view key) {
  return std::find(std::begin(keys), std::end(keys), key) != std::end(keys);
}

bool IsFingerprint(const nlohmann::json& value) {
  if (!value.is_string()) return false;
  const std::string& text = value.get_ref<const std::string&>();
  return text.size() == kFingerprintDigits &&
         std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsDecimalInt64(const nlohmann::json& value) {
  if (!value.is_string()) return false;
  const std::string& text = value.get_ref<const std::string&>();
  int64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

Error Invalid(const std::string& where, const std::string& problem) {
  return MakeError(ErrorCode::kInvalidArgument, where + ": " + problem);
}

bool IsExpression(const nlohmann::json& value) { return value.is_string() || value.is_null(); }

// The node at `where`, `depth` nodes from the root (1 for the root).
Status CheckNode(const nlohmann::json& node, const std::string& where, std::size_t depth) {
  const FieldChecker fields(node, where);
  if (!node.is_object()) return Invalid(where, "expected a plan node object");
  if (depth > protocol::kMaxPlanDepth) {
    return Invalid(where, "plan nested deeper than " + std::to_string(protocol::kMaxPlanDepth) +
                              " nodes");
  }
  for (const auto& [key, value] : node.items()) {
    bool ok = false;
    if (Holds(protocol::kPlanLabelKeys, key)) {
      ok = value.is_string();
    } else if (Holds(protocol::kPlanEstimateKeys, key)) {
      ok = value.is_number();
    } else if (Holds(protocol::kPlanFlagKeys, key)) {
      ok = value.is_boolean();
    } else if (Holds(protocol::kPlanExpressionKeys, key)) {
      ok = IsExpression(value) ||
           (value.is_array() && std::all_of(value.begin(), value.end(), IsExpression));
    } else if (key == protocol::kPlanChildrenKey && value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        const std::string child = fields.Name(key) + "[" + std::to_string(i) + "]";
        if (Status st = CheckNode(value[i], child, depth + 1); !st.ok()) return st;
      }
      ok = true;
    } else {
      return fields.Invalid(key, "not a plan node key");
    }
    if (!ok) return fields.Invalid(key, "unexpected type");
  }
  return OkStatus();
}

Status CheckPlan(const nlohmann::json& entry, const std::string& where) {
  const FieldChecker fields(entry, where);
  if (!entry.is_object()) return Invalid(where, "expected an object");
  auto queryid = fields.Get("queryid", true);
  RETURN_IF_ERROR(queryid);
  if (!IsDecimalInt64(**queryid)) {
    return fields.Invalid("queryid", "expected a decimal 64-bit integer in a string");
  }
  auto fingerprint = fields.Get("fingerprint", true);
  RETURN_IF_ERROR(fingerprint);
  if (!IsFingerprint(**fingerprint)) {
    return fields.Invalid("fingerprint", "expected 16 lowercase hex digits");
  }
  auto previous = fields.Get("previous_fingerprint", false);
  RETURN_IF_ERROR(previous);
  if (*previous != nullptr && !(*previous)->is_null() && !IsFingerprint(**previous)) {
    return fields.Invalid("previous_fingerprint", "expected null or 16 lowercase hex digits");
  }
  if (Status st = fields.NonNegativeNumber("total_cost", true); !st.ok()) return st;
  if (Status st = fields.Boolean("truncated", false); !st.ok()) return st;
  auto plan = fields.Get("plan", false);
  RETURN_IF_ERROR(plan);
  if (*plan == nullptr) return OkStatus();
  if (Status st = CheckNode(**plan, fields.Name("plan"), 1); !st.ok()) return st;
  if ((*plan)->dump().size() > protocol::kMaxPlanBytes + protocol::kMaxPlanBytes / 8) {
    return fields.Invalid("plan", "larger than " + std::to_string(protocol::kMaxPlanBytes) +
                                      " bytes of JSON (the agent cuts larger plans)");
  }
  return OkStatus();
}

}  // namespace

Status CheckStatementPlans(const nlohmann::json& plans) {
  if (plans.size() > protocol::kMaxStatementPlans) {
    return Invalid("plans",
                   "more than " + std::to_string(protocol::kMaxStatementPlans) + " statement plans");
  }
  for (std::size_t i = 0; i < plans.size(); ++i) {
    if (Status st = CheckPlan(plans[i], "plans[" + std::to_string(i) + "]"); !st.ok()) return st;
  }
  return OkStatus();
}

}  // namespace optischema::controlplane

#include "controlplane/activity_validation.h"

#include <charconv>
#include <cstdint>
#include <string>

#include "controlplane/message_validation.h"
#include "protocol/activity.h"

namespace optischema::controlplane {
namespace {

// Wait class and event names, states and backend types are PostgreSQL's own short names.
constexpr std::size_t kMaxNameBytes = 128;

std::string Path(const std::string& where, const char* key, std::size_t i) {
  return where + "." + key + "[" + std::to_string(i) + "]";
}

Status Name(const FieldChecker& fields, const char* key, bool nullable) {
  auto value = fields.Get(key, !nullable);
  RETURN_IF_ERROR(value);
  if (*value == nullptr || (nullable && (*value)->is_null())) return OkStatus();
  if (!(*value)->is_string() || (*value)->get_ref<const std::string&>().empty() ||
      (*value)->get_ref<const std::string&>().size() > kMaxNameBytes) {
    return fields.Invalid(key, "expected a name of 1 to 128 bytes");
  }
  return OkStatus();
}

Status Queryid(const FieldChecker& fields, bool nullable) {
  auto value = fields.Get("queryid", true);
  RETURN_IF_ERROR(value);
  if (nullable && (*value)->is_null()) return OkStatus();
  if ((*value)->is_string()) {
    const std::string& text = (*value)->get_ref<const std::string&>();
    int64_t id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) return OkStatus();
  }
  return fields.Invalid("queryid", "expected a decimal 64-bit integer in a string");
}

Status OptionalAge(const FieldChecker& fields, const char* key) {
  auto value = fields.Get(key, false);
  RETURN_IF_ERROR(value);
  if (*value == nullptr || (*value)->is_null()) return OkStatus();
  return fields.NonNegativeNumber(key, true);
}

// A list member: absent is refused (the agent always writes it), longer than `max` too; `check`
// runs on each element's checker and path.
template <class Check>
Status List(const FieldChecker& fields, const std::string& where, const char* key, std::size_t max,
            Check check) {
  auto list = fields.Array(key);
  RETURN_IF_ERROR(list);
  if ((*list)->size() > max) {
    return fields.Invalid(key, "more than " + std::to_string(max) + " elements");
  }
  for (std::size_t i = 0; i < (*list)->size(); ++i) {
    const nlohmann::json& element = (**list)[i];
    const std::string path = Path(where, key, i);
    if (!element.is_object()) return fields.Invalid(key, "expected objects");
    if (Status st = check(FieldChecker(element, path), path); !st.ok()) return st;
  }
  return OkStatus();
}

Status CheckChainSession(const FieldChecker& f, const std::string& /*path*/) {
  if (Status st = f.NonNegativeInteger("pid", true); !st.ok()) return st;
  if (Status st = f.NonNegativeInteger("level", true); !st.ok()) return st;
  if (Status st = Queryid(f, /*nullable=*/true); !st.ok()) return st;
  if (Status st = Name(f, "state", false); !st.ok()) return st;
  if (Status st = f.OptionalStringOrNull("backend_type"); !st.ok()) return st;
  for (const char* key : {"wait_class", "wait_event"}) {
    if (Status st = Name(f, key, true); !st.ok()) return st;
  }
  for (const char* key : {"state_age_s", "xact_age_s"}) {
    if (Status st = OptionalAge(f, key); !st.ok()) return st;
  }
  return OkStatus();
}

}  // namespace

Status CheckActivity(const nlohmann::json& activity) {
  const std::string where = "activity";
  const FieldChecker fields(activity, where);
  for (const char* key : {"samples", "max_active", "lock_wait_samples"}) {
    if (Status st = fields.NonNegativeInteger(key, true); !st.ok()) return st;
  }
  for (const char* key : {"sample_interval_s", "load", "idle_in_transaction_warn_s"}) {
    if (Status st = fields.NonNegativeNumber(key, true); !st.ok()) return st;
  }
  if (Status st = fields.Boolean("statement_attribution", true); !st.ok()) return st;
  if (Status st = fields.OptionalStringOrNull("attribution_note"); !st.ok()) return st;
  auto loaded = [](const FieldChecker& f) { return f.NonNegativeNumber("load", true); };
  // Every class PostgreSQL has, and "CPU", fit well within this.
  constexpr std::size_t kMaxWaitClasses = 32;
  if (Status st = List(fields, where, "by_wait_class", kMaxWaitClasses,
                       [&](const FieldChecker& f, const std::string&) {
                         if (Status s = Name(f, "wait_class", false); !s.ok()) return s;
                         return loaded(f);
                       });
      !st.ok()) {
    return st;
  }
  if (Status st = List(fields, where, "top_waits", protocol::kTopWaits,
                       [&](const FieldChecker& f, const std::string&) {
                         if (Status s = Name(f, "wait_class", false); !s.ok()) return s;
                         if (Status s = Name(f, "wait_event", true); !s.ok()) return s;
                         return loaded(f);
                       });
      !st.ok()) {
    return st;
  }
  if (Status st = List(fields, where, "by_statement", protocol::kTopStatementLoads,
                       [&](const FieldChecker& f, const std::string&) {
                         if (Status s = Queryid(f, false); !s.ok()) return s;
                         if (Status s = Name(f, "wait_class", false); !s.ok()) return s;
                         return loaded(f);
                       });
      !st.ok()) {
    return st;
  }
  constexpr std::size_t kMaxBackendTypes = 64;
  if (Status st = List(fields, where, "by_backend_type", kMaxBackendTypes,
                       [&](const FieldChecker& f, const std::string&) {
                         if (Status s = Name(f, "backend_type", false); !s.ok()) return s;
                         return loaded(f);
                       });
      !st.ok()) {
    return st;
  }
  if (Status st = List(
          fields, where, "blocking", protocol::kTopChains,
          [](const FieldChecker& f, const std::string& path) -> Status {
            auto root = f.Get("root", true);
            RETURN_IF_ERROR(root);
            if (!(*root)->is_object()) return f.Invalid("root", "expected an object");
            if (Status s = CheckChainSession(FieldChecker(**root, f.Name("root")), f.Name("root"));
                !s.ok()) {
              return s;
            }
            if (Status s = List(f, path, "blocked", protocol::kMaxChainSessions, CheckChainSession);
                !s.ok()) {
              return s;
            }
            for (const char* key : {"depth", "samples"}) {
              if (Status s = f.NonNegativeInteger(key, true); !s.ok()) return s;
            }
            return f.NonNegativeNumber("longest_wait_s", true);
          });
      !st.ok()) {
    return st;
  }
  return List(fields, where, "idle_in_transaction", protocol::kTopIdle,
              [](const FieldChecker& f, const std::string&) -> Status {
                for (const char* key : {"pid", "locks_held", "blocking"}) {
                  if (Status s = f.NonNegativeInteger(key, true); !s.ok()) return s;
                }
                if (Status s = Queryid(f, true); !s.ok()) return s;
                if (Status s = Name(f, "state", false); !s.ok()) return s;
                if (Status s = f.NonNegativeNumber("idle_s", true); !s.ok()) return s;
                return OptionalAge(f, "xact_age_s");
              });
}

}  // namespace optischema::controlplane

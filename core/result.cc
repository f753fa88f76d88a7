#include "core/result.h"

namespace optischema {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kConfig:
      return "config";
    case ErrorCode::kConnectionFailed:
      return "connection_failed";
    case ErrorCode::kAuthFailed:
      return "auth_failed";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kExtensionMissing:
      return "extension_missing";
    case ErrorCode::kUnsupportedVersion:
      return "unsupported_version";
    case ErrorCode::kQueryFailed:
      return "query_failed";
    case ErrorCode::kConnectionLost:
      return "connection_lost";
    case ErrorCode::kParseFailed:
      return "parse_failed";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

std::string Error::ToString() const {
  if (sqlstate.empty()) return message;
  return message + " (SQLSTATE " + sqlstate + ")";
}

}  // namespace optischema

#pragma once

// The one error style of the project: functions that can fail return Result<T>, carrying either a
// value or an Error whose code tells the caller what it can do about it (retry, reconnect, fix the
// configuration, give up). Third-party exceptions are converted to Error at module boundaries.

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace optischema {

enum class ErrorCode {
  kInvalidArgument,     // the caller passed something malformed; fix the input
  kConfig,              // configuration file or environment is wrong; fix it and restart
  kConnectionFailed,    // database or server unreachable; retry with backoff
  kAuthFailed,          // credentials rejected; fix the password / key, retrying will not help
  kPermissionDenied,    // the role lacks a privilege; the message names the GRANT
  kExtensionMissing,    // pg_stat_statements not installed or not preloaded
  kUnsupportedVersion,  // server or extension too old
  kQueryFailed,         // a statement failed; SQLSTATE says why
  kConnectionLost,      // connection broke mid-way; reconnect, next reading is a baseline
  kParseFailed,         // input text could not be parsed
  kIo,                  // file system error
  kTimeout,             // operation took too long; retry
  kCancelled,           // abandoned because the process is stopping; nothing to fix
  kInternal,            // a bug: report it
};

// Short stable name of a code, for logs and JSON.
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;   // what went wrong and, where known, what to do about it
  std::string sqlstate;  // five-character SQLSTATE when the error came from PostgreSQL

  // Whether repeating the same operation later may succeed without anyone changing anything.
  [[nodiscard]] bool Retryable() const {
    return code == ErrorCode::kConnectionFailed || code == ErrorCode::kConnectionLost ||
           code == ErrorCode::kTimeout || code == ErrorCode::kCancelled;
  }
  // "message" or "message (SQLSTATE xxxxx)".
  [[nodiscard]] std::string ToString() const;
};

inline Error MakeError(ErrorCode code, std::string message, std::string sqlstate = {}) {
  return Error{code, std::move(message), std::move(sqlstate)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(state_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  [[nodiscard]] bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& {
    assert(!ok_);
    return error_;
  }
  Error&& error() && {
    assert(!ok_);
    return std::move(error_);
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status OkStatus() { return {}; }

// Returns the error held by `result` (a Result<T> or Status variable) from the enclosing function,
// which returns a Result or a Status; does nothing when it holds a value. The one way an error is
// passed up unchanged.
#define RETURN_IF_ERROR(result)                           \
  do {                                                    \
    if (!(result).ok()) return std::move(result).error(); \
  } while (false)

}  // namespace optischema

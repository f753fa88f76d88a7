#pragma once

// A plain libpq client connection for tests that need a statement to stay running or a
// transaction to stay open while the agent looks: Send() returns at once, Finish() waits.

#include <memory>
#include <string>

struct pg_conn;

namespace optischema::testing {

class PgClient {
 public:
  // Connects to `dsn`; adds a gtest failure when it cannot.
  explicit PgClient(const std::string& dsn);
  ~PgClient();
  PgClient(const PgClient&) = delete;
  PgClient& operator=(const PgClient&) = delete;

  // Runs `sql` and waits for it; adds a gtest failure when it fails.
  void Run(const std::string& sql);
  // Sends `sql` without waiting for its result.
  void Send(const std::string& sql);
  // Waits for the results of the last Send.
  void Finish();
  // The server process id of this connection.
  int pid() const;

 private:
  pg_conn* conn_;
};

}  // namespace optischema::testing

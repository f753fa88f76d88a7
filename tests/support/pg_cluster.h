#pragma once

// Throwaway PostgreSQL cluster for integration tests: PostgreSQL 15 from Debian unless another
// major is asked for (Options::major, OPTISCHEMA_TEST_PG_MAJOR).
//
// Start() creates a private directory with mkdtemp ("$TMPDIR/optischema-pg-XXXXXX", /tmp when
// TMPDIR is unset), runs initdb into "<dir>/data" (trust auth, UTF8, C locale) and starts the
// server listening on 127.0.0.1 at a free port and on a Unix socket in "<dir>", with
// pg_stat_statements preloaded (track_utility on, track left at its default "top") and durability
// turned off for speed. The server log is "<dir>/log". The destructor stops the server and
// removes the directory, so holding the cluster in a std::unique_ptr cleans up on every path a
// test can leave by, failed assertions and exceptions included. Only a killed test process leaves
// "<dir>/data/postmaster.pid" behind; scripts/test stops such leftovers.
//
// PostgreSQL refuses to run as root: when the test runs as root, initdb and pg_ctl run as the
// "postgres" system user (via runuser) and the directory belongs to that user, so every ancestor
// of TMPDIR must be searchable by it.
//
// A cluster is meant to be used from one thread at a time; separate clusters are independent.
//
// Majors: 15 runs Debian's server (/usr/lib/postgresql/15/bin), which has HypoPG and pg_qualstats.
// Any other major runs the server binaries that scripts/test installs with ensure_pg_versions
// (scripts/lib/common.sh) into $OPTISCHEMA_PG_VERSIONS_DIR/<major>/bin: contrib with
// pg_stat_statements, no HypoPG.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace optischema::testing {

class PgCluster {
 public:
  struct Options {
    // Extra server settings as name/value pairs, written after the fixture's own settings so they
    // take precedence, e.g. {"pg_stat_statements.max", "100"}. Values are quoted as
    // postgresql.conf string literals; any setting type accepts that form.
    std::vector<std::pair<std::string, std::string>> settings;
    // The PostgreSQL major version; unset: DefaultMajor().
    std::optional<int> major = std::nullopt;
  };

  // The major of the environment variable OPTISCHEMA_TEST_PG_MAJOR when it is set, else 15. Throws
  // std::runtime_error when the variable is not a number.
  static int DefaultMajor();

  // The directory of the server programs of `major` (see above). Throws std::runtime_error naming
  // scripts/test when OPTISCHEMA_PG_VERSIONS_DIR is unset or holds no server of that major.
  static std::string BinDirFor(int major);

  // Creates, initializes and starts a cluster of options.major. Retries on another port when the
  // chosen one was taken in the meantime. Throws std::runtime_error naming the failed step, with
  // the command output and the tail of the server log; nothing is left behind on failure.
  static std::unique_ptr<PgCluster> Start(const Options& options);
  // Start with the default options.
  static std::unique_ptr<PgCluster> Start();

  // Stops the server (fast, then immediate shutdown) and removes the directory. Never throws;
  // problems are reported on stderr.
  ~PgCluster();

  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Directory holding the Unix socket, the data directory and the server log.
  const std::string& socket_dir() const { return dir_; }
  int port() const { return port_; }
  // The PostgreSQL major version the server runs.
  int major() const { return major_; }
  // Whether the server can CREATE EXTENSION hypopg (asks pg_available_extensions). Throws
  // std::runtime_error when the query fails.
  bool has_hypopg() const;

  // libpq keyword/value string "host=<socket dir> port=<port> dbname=<dbname> user=<user>";
  // values are quoted when libpq requires it.
  std::string ConnectionString(const std::string& dbname = "postgres",
                               const std::string& user = "postgres") const;

  // Restarts the server (fast shutdown) on the same port. Throws std::runtime_error with the log
  // tail on failure.
  void Restart();

  // Runs `sql` (one or more statements) on a fresh connection as user postgres. Throws
  // std::runtime_error with the server's error message on failure.
  void Exec(const std::string& sql, const std::string& dbname = "postgres");

  // Like Exec and returns the rows of the last statement as text values, NULL as "".
  std::vector<std::vector<std::string>> Query(const std::string& sql,
                                              const std::string& dbname = "postgres");

  // First column of the first row of Query(sql, dbname); throws std::runtime_error when the
  // result has no rows or no columns.
  std::string QueryValue(const std::string& sql, const std::string& dbname = "postgres");

  // The role the documentation recommends for monitoring (docs/database-setup.md): kMonitoringRole,
  // LOGIN, not a superuser, member of pg_monitor, with USAGE on schema public and SELECT on every
  // table in it, now and later (default privileges of postgres). Created on first use, granted in
  // `dbname` each call. Returns ConnectionString(dbname, kMonitoringRole).
  static constexpr char kMonitoringRole[] = "optischema_agent";
  std::string MonitoringConnectionString(const std::string& dbname = "postgres");

  // CREATE DATABASE with `name` quoted as an identifier.
  void CreateDatabase(const std::string& name);

  // Runs the PostgreSQL 15 pgbench (whatever the server's major: the other majors' packages have
  // none) with `args` against `dbname`, adding -h <socket dir> -p <port> -U postgres, as the
  // invoking user (pgbench is only a client). Returns its combined stdout and stderr; throws
  // std::runtime_error with that output on a non-zero exit.
  std::string Pgbench(const std::vector<std::string>& args, const std::string& dbname = "postgres");

  // The last lines of the server log, "" when there is no log yet.
  std::string LogTail() const;

 private:
  PgCluster(std::string dir, int major, std::string bin_dir);

  // The path of server program `program` of this cluster's major.
  std::string PgBin(const std::string& program) const;

  std::string DataDir() const;
  std::string LogPath() const;
  // Writes the fixture's settings, the port and `options` to the include file of postgresql.conf.
  void WriteSettings(const Options& options) const;
  // Runs initdb, then starts the server, choosing a new port while the old one turns out taken.
  void InitAndStart(const Options& options);
  // Stops the server if it is running: fast shutdown, then immediate shutdown.
  void Stop() noexcept;

  std::string dir_;
  int major_;
  std::string bin_dir_;
  int port_ = 0;
};

}  // namespace optischema::testing

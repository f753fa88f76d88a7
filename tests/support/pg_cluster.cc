#include "tests/support/pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace optischema::testing {
namespace {

namespace fs = std::filesystem;

// Debian's PostgreSQL 15, with HypoPG and pg_qualstats; its pgbench serves every major.
constexpr int kDebianMajor = 15;
constexpr char kDebianPgBinDir[] = "/usr/lib/postgresql/15/bin";
// Where ensure_pg_versions (scripts/lib/common.sh) installed the other majors, and the variable
// choosing the major of a cluster whose options do not.
constexpr char kVersionsDirVariable[] = "OPTISCHEMA_PG_VERSIONS_DIR";
constexpr char kMajorVariable[] = "OPTISCHEMA_TEST_PG_MAJOR";
constexpr char kServerUser[] = "postgres";
// Written into the data directory and included at the end of postgresql.conf.
constexpr char kSettingsFile[] = "optischema.conf";
constexpr char kDirPrefix[] = "optischema-pg-";
constexpr char kPgCtlTimeoutSeconds[] = "60";
constexpr int kStartAttempts = 5;
constexpr std::size_t kLogTailLines = 40;

std::string ErrnoMessage(const std::string& what) { return what + ": " + std::strerror(errno); }

bool RunningAsRoot() { return geteuid() == 0; }

struct ProcessResult {
  int exit_code = 0;   // the exit status, or 128 + the signal number that ended the process
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (searched in PATH) with `argv`, stdin from /dev/null, in directory `cwd` (the
// current one when empty), and waits for it. Only descriptors 0-2 are inherited, so a daemon the
// child leaves running holds none of this process's files or pipes.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& cwd = "") {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  // Prepared before fork: the child may only make async-signal-safe calls.
  const std::string exec_error = "cannot execute " + argv.at(0) + "\n";

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(ErrnoMessage("pipe2"));
  const pid_t pid = fork();
  if (pid < 0) {
    const std::string message = ErrnoMessage("fork");
    close(fds[0]);
    close(fds[1]);
    throw std::runtime_error(message);
  }
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(fds[1], STDOUT_FILENO) < 0 ||
        dup2(fds[1], STDERR_FILENO) < 0 || (!cwd.empty() && chdir(cwd.c_str()) != 0)) {
      _exit(127);
    }
    close_range(STDERR_FILENO + 1, ~0U, 0);
    execvp(args[0], args.data());
    const ssize_t ignored = write(STDERR_FILENO, exec_error.data(), exec_error.size());
    static_cast<void>(ignored);
    _exit(127);
  }
  close(fds[1]);

  ProcessResult result;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n > 0) {
      result.output.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);

  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(ErrnoMessage("waitpid"));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) line += (line.empty() ? "" : " ") + arg;
  return line;
}

std::string FailureMessage(const std::vector<std::string>& argv, const ProcessResult& result) {
  return CommandLine(argv) + " exited with status " + std::to_string(result.exit_code) + ":\n" +
         result.output;
}

// `argv`, run as the server's system user when this process is root.
std::vector<std::string> AsServerUser(const std::vector<std::string>& argv) {
  if (!RunningAsRoot()) return argv;
  std::vector<std::string> wrapped = {"runuser", "-u", kServerUser, "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

// Gives `path` to the server's system user when this process is root; no-op otherwise.
void ChownToServerUser(const std::string& path) {
  if (!RunningAsRoot()) return;
  const passwd* user = getpwnam(kServerUser);
  if (user == nullptr) {
    throw std::runtime_error(std::string("system user ") + kServerUser +
                             " does not exist; PostgreSQL cannot run as root");
  }
  if (chown(path.c_str(), user->pw_uid, user->pw_gid) != 0) {
    throw std::runtime_error(ErrnoMessage("chown " + path));
  }
}

// The contents of `path` from byte `offset` on; "" when the file does not exist.
std::string ReadFile(const std::string& path, std::uintmax_t offset = 0) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(static_cast<std::streamoff>(offset));
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFile(const std::string& path, const std::string& contents, std::ios::openmode mode) {
  std::ofstream out(path, std::ios::binary | mode);
  out << contents;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
  ChownToServerUser(path);
}

std::uintmax_t FileSizeOrZero(const std::string& path) {
  std::error_code error;
  const std::uintmax_t size = fs::file_size(path, error);
  return error ? 0 : size;
}

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(ErrnoMessage("socket"));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string message = ErrnoMessage("binding 127.0.0.1:0");
    close(fd);
    throw std::runtime_error(message);
  }
  close(fd);
  return ntohs(address.sin_port);
}

// `value` as a postgresql.conf string literal.
std::string ConfLiteral(const std::string& value) {
  std::string literal = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') literal += c;
    literal += c;
  }
  return literal + "'";
}

// `value` as a libpq keyword/value connection string value, quoted only when necessary.
std::string ConnInfoValue(const std::string& value) {
  if (!value.empty() && value.find_first_of(" \t\n\r\f\v'\\") == std::string::npos) return value;
  std::string quoted = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

std::string QuoteIdentifier(const std::string& name) {
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"') quoted += c;
    quoted += c;
  }
  return quoted + "\"";
}

std::string TrimTrailingNewlines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// Runs `sql` on a new connection and returns the result of its last statement. Throws
// std::runtime_error when connecting fails or the result is not a success.
ResultPtr RunSql(const std::string& conninfo, const std::string& sql) {
  const std::unique_ptr<PGconn, ConnDeleter> conn(PQconnectdb(conninfo.c_str()));
  if (conn == nullptr) throw std::runtime_error("libpq could not allocate a connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect with \"" + conninfo +
                             "\": " + TrimTrailingNewlines(PQerrorMessage(conn.get())));
  }
  ResultPtr result(PQexec(conn.get(), sql.c_str()));
  if (result == nullptr) {
    throw std::runtime_error("query failed: " + TrimTrailingNewlines(PQerrorMessage(conn.get())) +
                             "\nSQL: " + sql);
  }
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(
        "query failed: " + TrimTrailingNewlines(PQresultErrorMessage(result.get())) +
        "\nSQL: " + sql);
  }
  return result;
}

}  // namespace

PgCluster::PgCluster(std::string dir, int major, std::string bin_dir)
    : dir_(std::move(dir)), major_(major), bin_dir_(std::move(bin_dir)) {}

int PgCluster::DefaultMajor() {
  const char* value = std::getenv(kMajorVariable);
  if (value == nullptr || *value == '\0') return kDebianMajor;
  int major = 0;
  const char* end = value + std::strlen(value);
  const auto [ptr, error] = std::from_chars(value, end, major);
  if (error != std::errc() || ptr != end || major <= 0) {
    throw std::runtime_error(std::string(kMajorVariable) + "=" + value +
                             " is not a PostgreSQL major version such as 13");
  }
  return major;
}

std::string PgCluster::BinDirFor(int major) {
  if (major == kDebianMajor) return kDebianPgBinDir;
  const std::string how =
      "scripts/test installs the majors of scripts/lib/postgresql-versions there "
      "(ensure_pg_versions in scripts/lib/common.sh) and exports the variable";
  const char* root = std::getenv(kVersionsDirVariable);
  if (root == nullptr || *root == '\0') {
    throw std::runtime_error("PostgreSQL " + std::to_string(major) +
                             " is not available: " + kVersionsDirVariable + " is not set; " + how);
  }
  const std::string bin_dir = std::string(root) + "/" + std::to_string(major) + "/bin";
  std::error_code error;
  if (!fs::is_regular_file(bin_dir + "/postgres", error)) {
    throw std::runtime_error("PostgreSQL " + std::to_string(major) + " is not available: no " +
                             bin_dir + "/postgres; " + how);
  }
  return bin_dir;
}

std::unique_ptr<PgCluster> PgCluster::Start() { return Start(Options{}); }

std::unique_ptr<PgCluster> PgCluster::Start(const Options& options) {
  const int major = options.major ? *options.major : DefaultMajor();
  std::string bin_dir = BinDirFor(major);
  const char* tmpdir = std::getenv("TMPDIR");
  std::string path = std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") + "/" +
                     kDirPrefix + "XXXXXX";
  if (mkdtemp(path.data()) == nullptr) throw std::runtime_error(ErrnoMessage("mkdtemp " + path));
  // From here on the cluster owns the directory: its destructor cleans up if starting fails.
  std::unique_ptr<PgCluster> cluster(new PgCluster(std::move(path), major, std::move(bin_dir)));
  cluster->InitAndStart(options);
  return cluster;
}

PgCluster::~PgCluster() {
  Stop();
  std::error_code error;
  fs::remove_all(dir_, error);
  if (error) std::cerr << "PgCluster: cannot remove " << dir_ << ": " << error.message() << "\n";
}

std::string PgCluster::PgBin(const std::string& program) const { return bin_dir_ + "/" + program; }

std::string PgCluster::DataDir() const { return dir_ + "/data"; }

std::string PgCluster::LogPath() const { return dir_ + "/log"; }

void PgCluster::WriteSettings(const Options& options) const {
  const std::vector<std::pair<std::string, std::string>> fixture_settings = {
      {"listen_addresses", "127.0.0.1"},
      {"port", std::to_string(port_)},
      {"unix_socket_directories", dir_},
      {"shared_preload_libraries", "pg_stat_statements"},
      {"pg_stat_statements.track_utility", "on"},
      {"fsync", "off"},
      {"synchronous_commit", "off"},
      {"full_page_writes", "off"},
      {"max_connections", "50"},
  };
  std::ostringstream conf;
  for (const auto& settings : {fixture_settings, options.settings}) {
    for (const auto& [name, value] : settings) conf << name << " = " << ConfLiteral(value) << "\n";
  }
  WriteFile(DataDir() + "/" + kSettingsFile, conf.str(), std::ios::trunc);
}

void PgCluster::InitAndStart(const Options& options) {
  // The socket is "<dir>/.s.PGSQL.<port>", and a port has at most five digits.
  const std::size_t socket_path_length = dir_.size() + std::strlen("/.s.PGSQL.") + 5;
  if (socket_path_length >= sizeof(sockaddr_un::sun_path)) {
    throw std::runtime_error("Unix socket path under " + dir_ + " would be too long; use a " +
                             "shorter TMPDIR");
  }
  ChownToServerUser(dir_);

  const std::vector<std::string> initdb =
      AsServerUser({PgBin("initdb"), "-D", DataDir(), "-U", "postgres", "--auth=trust", "-N", "-E",
                    "UTF8", "--locale=C"});
  const ProcessResult initdb_result = RunProcess(initdb, dir_);
  if (initdb_result.exit_code != 0) {
    throw std::runtime_error(FailureMessage(initdb, initdb_result));
  }
  WriteFile(DataDir() + "/postgresql.conf",
            std::string("\ninclude = ") + ConfLiteral(kSettingsFile) + "\n", std::ios::app);

  const std::vector<std::string> start =
      AsServerUser({PgBin("pg_ctl"), "-w", "-t", kPgCtlTimeoutSeconds, "-D", DataDir(), "-l",
                    LogPath(), "start"});
  for (int attempt = 1;; ++attempt) {
    port_ = FreePort();
    WriteSettings(options);
    const std::uintmax_t log_offset = FileSizeOrZero(LogPath());
    const ProcessResult result = RunProcess(start, dir_);
    if (result.exit_code == 0) return;
    // Another process may have taken the port between FreePort() and the server's bind().
    const bool port_taken =
        ReadFile(LogPath(), log_offset).find("Address already in use") != std::string::npos;
    if (!port_taken || attempt == kStartAttempts) {
      throw std::runtime_error(FailureMessage(start, result) + "server log tail:\n" + LogTail());
    }
  }
}

void PgCluster::Stop() noexcept {
  std::error_code error;
  if (!fs::exists(DataDir() + "/postmaster.pid", error)) return;
  std::string failures;
  for (const char* mode : {"fast", "immediate"}) {
    try {
      const std::vector<std::string> stop = AsServerUser(
          {PgBin("pg_ctl"), "-w", "-t", kPgCtlTimeoutSeconds, "-D", DataDir(), "-m", mode, "stop"});
      const ProcessResult result = RunProcess(stop, dir_);
      if (result.exit_code == 0) return;
      failures += FailureMessage(stop, result);
    } catch (const std::exception& e) {
      failures += std::string(e.what()) + "\n";
    }
  }
  // Once its directory is removed the server notices the lost lock file and shuts down by itself.
  std::cerr << "PgCluster: cannot stop the server in " << dir_ << ":\n" << failures;
}

std::string PgCluster::ConnectionString(const std::string& dbname, const std::string& user) const {
  return "host=" + ConnInfoValue(dir_) + " port=" + std::to_string(port_) +
         " dbname=" + ConnInfoValue(dbname) + " user=" + ConnInfoValue(user);
}

void PgCluster::Restart() {
  const std::vector<std::string> restart =
      AsServerUser({PgBin("pg_ctl"), "-w", "-t", kPgCtlTimeoutSeconds, "-D", DataDir(), "-l",
                    LogPath(), "-m", "fast", "restart"});
  const ProcessResult result = RunProcess(restart, dir_);
  if (result.exit_code != 0) {
    throw std::runtime_error(FailureMessage(restart, result) + "server log tail:\n" + LogTail());
  }
}

void PgCluster::Exec(const std::string& sql, const std::string& dbname) {
  RunSql(ConnectionString(dbname), sql);
}

std::vector<std::vector<std::string>> PgCluster::Query(const std::string& sql,
                                                       const std::string& dbname) {
  const ResultPtr result = RunSql(ConnectionString(dbname), sql);
  const int rows = PQntuples(result.get());
  const int columns = PQnfields(result.get());
  std::vector<std::vector<std::string>> values(static_cast<std::size_t>(rows));
  for (int row = 0; row < rows; ++row) {
    auto& out = values[static_cast<std::size_t>(row)];
    out.reserve(static_cast<std::size_t>(columns));
    for (int column = 0; column < columns; ++column) {
      out.emplace_back(
          PQgetisnull(result.get(), row, column) != 0 ? "" : PQgetvalue(result.get(), row, column));
    }
  }
  return values;
}

std::string PgCluster::QueryValue(const std::string& sql, const std::string& dbname) {
  const std::vector<std::vector<std::string>> rows = Query(sql, dbname);
  if (rows.empty() || rows.front().empty()) {
    throw std::runtime_error("query returned no value\nSQL: " + sql);
  }
  return rows.front().front();
}

std::string PgCluster::MonitoringConnectionString(const std::string& dbname) {
  const std::string role = QuoteIdentifier(kMonitoringRole);
  Exec(std::string("DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '") +
           kMonitoringRole + "') THEN CREATE ROLE " + role +
           " LOGIN; END IF; END$$; GRANT pg_monitor TO " + role +
           "; GRANT USAGE ON SCHEMA public TO " + role +
           "; GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role +
           "; ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT SELECT ON TABLES "
           "TO " +
           role,
       dbname);
  return ConnectionString(dbname, kMonitoringRole);
}

bool PgCluster::has_hypopg() const {
  const ResultPtr result = RunSql(
      ConnectionString(), "SELECT count(*) FROM pg_available_extensions WHERE name = 'hypopg'");
  return std::string(PQgetvalue(result.get(), 0, 0)) != "0";
}

void PgCluster::CreateDatabase(const std::string& name) {
  Exec("CREATE DATABASE " + QuoteIdentifier(name));
}

std::string PgCluster::Pgbench(const std::vector<std::string>& args, const std::string& dbname) {
  std::vector<std::string> argv = {std::string(kDebianPgBinDir) + "/pgbench",
                                   "-h",
                                   dir_,
                                   "-p",
                                   std::to_string(port_),
                                   "-U",
                                   "postgres"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(dbname);
  ProcessResult result = RunProcess(argv);
  if (result.exit_code != 0) throw std::runtime_error(FailureMessage(argv, result));
  return std::move(result.output);
}

std::string PgCluster::LogTail() const {
  const std::string log = ReadFile(LogPath());
  std::size_t start = log.size();
  // Skip the final newline, then walk back kLogTailLines line breaks.
  if (start > 0 && log[start - 1] == '\n') --start;
  for (std::size_t lines = 0; start > 0; --start) {
    if (log[start - 1] == '\n' && ++lines == kLogTailLines) break;
  }
  return log.substr(start);
}

}  // namespace optischema::testing

// Attacks on what leaves the agent: a database user who writes secrets as setting and option
// values (bare words, keywords, lists), and an attacker holding a snapshot who brute-forces the
// literals a table digest covers. A real PostgreSQL 15, the real optischema-agent daemon and the
// reference control plane over real TLS; the assertions read everything that left: the control
// plane's stored snapshots (listing and SQLite files), the agent's log, `collect --dry-run`.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <pg_query.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/agent_command.h"
#include "tests/support/agent_process.h"
#include "tests/support/controlplane_process.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "optischema-sec-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

std::string Lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every byte the control plane keeps on disk (SQLite database, journal, WAL), concatenated.
std::string StoredBytes(const ControlPlaneProcess& control_plane) {
  std::string all;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(control_plane.data_dir(), ec)) {
    if (entry.is_regular_file()) all += ReadAll(entry.path().string());
  }
  return all;
}

// The unkeyed digest the agent used to send: the first 16 bytes of SHA-256 as hex.
std::string UnkeyedDigest(const std::string& canonical) {
  unsigned char sha[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), sha, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16; ++i) {
    out.push_back(kHex[sha[i] >> 4U]);
    out.push_back(kHex[sha[i] & 0xFU]);
  }
  return out;
}

// The value of the first "digests" object's `table` member anywhere in `node`, or "".
std::string FindDigest(const json& node, const std::string& table) {
  if (node.is_object()) {
    if (auto digests = node.find("digests");
        digests != node.end() && digests->is_object() && digests->contains(table)) {
      return (*digests)[table].get<std::string>();
    }
    for (const auto& [key, value] : node.items()) {
      std::string found = FindDigest(value, table);
      if (!found.empty()) return found;
    }
  } else if (node.is_array()) {
    for (const json& value : node) {
      std::string found = FindDigest(value, table);
      if (!found.empty()) return found;
    }
  }
  return "";
}

class AnonymizationAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    cluster_ = PgCluster::Start();
    cluster_->Exec("CREATE EXTENSION pg_stat_statements");
    // The documented monitoring role.
    cluster_->Exec("CREATE ROLE agent LOGIN; GRANT pg_monitor TO agent");
    control_plane_ = std::make_unique<ControlPlaneProcess>();
    control_plane_->Start();
    std::ofstream(dir_ + "/api-key") << control_plane_->CreateApiKey() << "\n";
  }

  void TearDown() override {
    agent_.reset();
    control_plane_.reset();
    cluster_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string StateDir() const { return dir_ + "/state"; }

  std::string Config() const {
    return "[agent]\nstate_dir = \"" + StateDir() +
           "\"\ninterval = \"1s\"\nheartbeat_interval = \"1s\"\nlog_format = \"json\"\n"
           "[advisor]\ninterval = \"1s\"\n"
           "[control_plane]\nurl = \"" +
           control_plane_->base_url() + "\"\napi_key_file = \"" + dir_ +
           "/api-key\"\nca_file = \"" + control_plane_->ca_file() +
           "\"\n[[database]]\nname = \"shop\"\ndsn = \"" +
           cluster_->ConnectionString("postgres", "agent") + "\"\n";
  }

  void StartAgent() { agent_ = AgentProcess::Start(dir_, {Config(), {}}); }

  void StopAgent() {
    agent_->Signal(SIGTERM);
    ASSERT_EQ(agent_->WaitExit(20s), std::optional<int>(0)) << agent_->Log();
    agent_log_ += agent_->Log();
    agent_.reset();
  }

  // Every statement text the control plane stored, over all snapshots.
  std::vector<std::string> StoredTexts() const {
    std::vector<std::string> texts;
    for (const json& snapshot : control_plane_->ListSnapshots()) {
      for (const json& statement : snapshot["body"].value("statements", json::array())) {
        if (statement.contains("text") && statement["text"].is_string()) {
          texts.push_back(statement["text"].get<std::string>());
        }
      }
    }
    return texts;
  }

  // The stored text that starts with `prefix`, or nullopt.
  std::optional<std::string> StoredTextStartingWith(const std::string& prefix) const {
    for (const std::string& text : StoredTexts()) {
      if (text.starts_with(prefix)) return text;
    }
    return std::nullopt;
  }

  // The digest of `table` in the newest stored snapshot that has one after the first `skip`
  // snapshots, or "".
  std::string NewestDigest(const std::string& table, std::size_t skip = 0) const {
    const json snapshots = control_plane_->ListSnapshots();
    std::string digest;
    for (std::size_t i = skip; i < snapshots.size(); ++i) {
      std::string found = FindDigest(snapshots[i]["body"], table);
      if (!found.empty()) digest = found;
    }
    return digest;
  }

  // Fails the test for each of `secrets` found (case-insensitively) in `haystack`.
  static void ExpectNone(const std::vector<std::string>& secrets, const std::string& haystack,
                         const std::string& where) {
    const std::string lower = Lower(haystack);
    for (const std::string& secret : secrets) {
      EXPECT_EQ(lower.find(Lower(secret)), std::string::npos) << secret << " found in " << where;
    }
  }

  std::string dir_;
  std::unique_ptr<PgCluster> cluster_;
  std::unique_ptr<ControlPlaneProcess> control_plane_;
  std::unique_ptr<AgentProcess> agent_;
  std::string agent_log_;  // logs of agent runs already stopped
};

// Finding 8 and more of its class: setting values written as bare words (identifiers, quoted
// identifiers, lists), keywords in option lists, in every form a user can reach:
// ALTER ROLE|DATABASE ... SET, ALTER ROLE ... IN DATABASE ... SET, ALTER SYSTEM SET,
// ALTER FUNCTION ... SET, CREATE FUNCTION ... SET, ALTER TABLE ... SET (...), EXPLAIN (...),
// COPY ... WITH (...). None of the secret words reaches the control plane, the agent's log or
// `collect --dry-run`; the statements still arrive, with $n where the values were.
TEST_F(AnonymizationAttackTest, SettingAndOptionValuesWrittenAsBareWordsNeverLeaveTheAgent) {
  cluster_->Exec(
      "CREATE ROLE mallory; CREATE TABLE opt_t (a int);"
      "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'");
  const std::vector<std::string> secrets = {"secretAA20ident", "secretAA28ident", "secretDB31word",
                                            "secretLI32word",  "secretQU33word",  "secretFN34word",
                                            "secretCF35word",  "secretAF36word"};
  // Each statement runs on its own (ALTER SYSTEM refuses a transaction block).
  const std::vector<std::string> attacks = {
      "ALTER ROLE mallory SET app.api_key = secretAA20ident",
      "ALTER SYSTEM SET search_path = secretAA28ident",
      "ALTER DATABASE postgres SET app.token TO secretDB31word",
      "ALTER ROLE mallory IN DATABASE postgres SET search_path = secretLI32word, "
      "\"secretQU33word\"",
      "ALTER FUNCTION public.f() SET app.fn = secretFN34word",
      "CREATE OR REPLACE FUNCTION public.g() RETURNS int LANGUAGE sql SET search_path = "
      "secretCF35word AS 'SELECT 1'",
      "ALTER ROLE mallory SET app.flag = on",
      "ALTER ROLE mallory SET app.other = secretAF36word",
      "ALTER ROLE mallory RESET app.other",
      "ALTER TABLE opt_t SET (autovacuum_enabled = off, toast.autovacuum_enabled = false)",
      "EXPLAIN (COSTS off, FORMAT json) SELECT a FROM opt_t",
      "COPY opt_t TO '/dev/null' WITH (FORMAT csv, HEADER true)",
  };
  const auto run_attacks = [&] {
    for (const std::string& sql : attacks) cluster_->Exec(sql);
  };
  // What each statement must look like when it arrives: its values replaced, its names kept.
  const std::map<std::string, std::string> expected = {
      {"ALTER ROLE mallory SET app.api_key", "ALTER ROLE mallory SET app.api_key = $1"},
      {"ALTER SYSTEM SET search_path", "ALTER SYSTEM SET search_path = $1"},
      {"ALTER DATABASE postgres SET app.token", "ALTER DATABASE postgres SET app.token TO $1"},
      {"ALTER ROLE mallory IN DATABASE postgres SET search_path",
       "ALTER ROLE mallory IN DATABASE postgres SET search_path = $1, $2"},
      {"ALTER FUNCTION public.f() SET app.fn", "ALTER FUNCTION public.f() SET app.fn = $1"},
      {"ALTER ROLE mallory SET app.flag", "ALTER ROLE mallory SET app.flag = $1"},
      {"ALTER ROLE mallory RESET app.other", "ALTER ROLE mallory RESET app.other"},
      {"ALTER TABLE opt_t SET (",
       "ALTER TABLE opt_t SET (autovacuum_enabled = $1, toast.autovacuum_enabled = $2)"},
      {"EXPLAIN (COSTS", "EXPLAIN (COSTS $1, FORMAT $2) SELECT a FROM opt_t"},
      {"COPY opt_t TO", "COPY opt_t TO $1 WITH (FORMAT $2, HEADER $3)"},
  };

  StartAgent();
  // The first reading is a baseline: run the statements until every one of them was stored.
  const bool all_arrived = WaitFor(
      [&] {
        run_attacks();
        for (const auto& [prefix, text] : expected) {
          if (!StoredTextStartingWith(prefix)) return false;
        }
        return StoredTextStartingWith("CREATE OR REPLACE FUNCTION public.g()").has_value();
      },
      90s, 500ms);
  std::string texts;
  for (const std::string& text : StoredTexts()) texts += text + "\n";
  ASSERT_TRUE(all_arrived) << "stored texts:\n" << texts << agent_->Log();

  ExpectNone(secrets, texts, "a stored statement text");
  ExpectNone(secrets, control_plane_->ListSnapshots().dump(), "a stored snapshot");
  ExpectNone(secrets, StoredBytes(*control_plane_), "the control plane's data files");
  for (const auto& [prefix, text] : expected) {
    EXPECT_EQ(StoredTextStartingWith(prefix).value_or(""), text);
  }
  EXPECT_EQ(StoredTextStartingWith("CREATE OR REPLACE FUNCTION public.g()").value_or(""),
            "CREATE OR REPLACE FUNCTION public.g() RETURNS int LANGUAGE sql SET search_path = "
            "$1 AS $3");
  StopAgent();
  ExpectNone(secrets, agent_log_, "the agent's log");

  // `collect --dry-run` prints what it would send: the same statements, again without a secret.
  std::atomic<bool> stop{false};
  std::thread workload([&] {
    while (!stop) run_attacks();
  });
  const AgentRun dry =
      RunAgent("OPTISCHEMA_DATABASE_URL='" + cluster_->ConnectionString("postgres", "agent") + "'",
               "collect --dry-run --window 2 --format json");
  stop = true;
  workload.join();
  ASSERT_EQ(dry.status, 0) << dry.err;
  EXPECT_NE(dry.out.find("ALTER ROLE mallory SET app.api_key = $1"), std::string::npos) << dry.out;
  ExpectNone(secrets, dry.out, "collect --dry-run output");
  ExpectNone(secrets, dry.err, "collect --dry-run errors");
}

// libpg_query's fingerprint of `sql`, as the agent computed it from raw texts, or "".
std::string RawFingerprint(const std::string& sql) {
  PgQueryFingerprintResult result = pg_query_fingerprint(sql.c_str());
  std::string out = result.error == nullptr && result.fingerprint_str != nullptr
                        ? std::string(result.fingerprint_str)
                        : std::string();
  pg_query_free_fingerprint_result(result);
  return out;
}

// An option value that is a literal leaves as $n, but libpg_query's fingerprint hashes option
// values: the fingerprint sent with a user mapping's statement must not let an attacker test
// password guesses offline.
TEST_F(AnonymizationAttackTest, StatementFingerprintCannotBeBruteForcedIntoAnOptionValue) {
  cluster_->Exec(
      "CREATE EXTENSION postgres_fdw; CREATE ROLE mallory;"
      "CREATE SERVER fsrv FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'localhost');"
      "CREATE USER MAPPING FOR mallory SERVER fsrv OPTIONS (user 'm', password 'initial')");
  const std::string attack =
      "ALTER USER MAPPING FOR mallory SERVER fsrv OPTIONS (SET password '7305')";
  StartAgent();
  std::string fingerprint;
  ASSERT_TRUE(WaitFor(
      [&] {
        cluster_->Exec(attack);
        for (const json& snapshot : control_plane_->ListSnapshots()) {
          for (const json& statement : snapshot["body"].value("statements", json::array())) {
            if (statement.value("text", json()).is_string() &&
                statement["text"].get<std::string>().starts_with("ALTER USER MAPPING")) {
              EXPECT_EQ(statement["text"],
                        "ALTER USER MAPPING FOR mallory SERVER fsrv OPTIONS (SET password $1)");
              fingerprint = statement.value("fingerprint", "");
            }
          }
        }
        return !fingerprint.empty();
      },
      60s, 500ms))
      << agent_->Log();
  // The attack recomputes the fingerprint of the statement for every four-digit password.
  ASSERT_FALSE(RawFingerprint(attack).empty());
  std::vector<std::string> recovered;
  for (int value = 0; value < 10000; ++value) {
    char candidate[5];
    std::snprintf(candidate, sizeof candidate, "%04d", value);
    if (RawFingerprint("ALTER USER MAPPING FOR mallory SERVER fsrv OPTIONS (SET password '" +
                       std::string(candidate) + "')") == fingerprint) {
      recovered.push_back(candidate);
    }
  }
  EXPECT_TRUE(recovered.empty()) << "brute force recovered password " << recovered.front();
  StopAgent();
  ExpectNone({"7305"}, control_plane_->ListSnapshots().dump(), "a stored snapshot");
}

// The canonical text the agent's table digest covered, as it was built before digests were
// keyed: what an attacker who knows the (sent, anonymized) schema report reconstructs.
std::string PinsCanonical(const std::string& pin) {
  return "table public.pins table\ncolumn pin text identity  generated  default '" + pin +
         "'::text\n";
}
std::string VaultCanonical(const std::string& code) {
  return "table public.vault table\ncolumn code integer identity  generated  default "
         "(none)\nconstraint vault_code_check CHECK ((code <> " +
         code + "))\n";
}

// Finding 7 (a column default) and a CHECK constraint literal: the digests the agent sends are
// not the ones an offline brute force over all 10,000 four-digit values can produce, and they
// still detect drift: the same across an agent restart, different once the default changes. The
// key itself appears in no snapshot and no log line.
TEST_F(AnonymizationAttackTest, TableDigestsResistOfflineBruteForceAndStillDetectDrift) {
  cluster_->Exec(
      "CREATE TABLE pins (pin text DEFAULT '4821');"
      "CREATE TABLE vault (code int CHECK (code <> 7391))");
  StartAgent();
  std::string pins;
  std::string vault;
  ASSERT_TRUE(WaitFor(
      [&] {
        pins = NewestDigest("public.pins");
        vault = NewestDigest("public.vault");
        return !pins.empty() && !vault.empty();
      },
      60s))
      << agent_->Log();

  std::vector<std::string> recovered;
  for (int value = 0; value < 10000; ++value) {
    char candidate[5];
    std::snprintf(candidate, sizeof candidate, "%04d", value);
    if (UnkeyedDigest(PinsCanonical(candidate)) == pins) {
      recovered.push_back(std::string("pin ") + candidate);
    }
    if (UnkeyedDigest(VaultCanonical(std::to_string(value))) == vault) {
      recovered.push_back("code " + std::to_string(value));
    }
  }
  std::string found;
  for (const std::string& r : recovered) found += " " + r;
  EXPECT_TRUE(recovered.empty()) << "brute force recovered:" << found;

  // The key file: private, and never sent or logged (neither raw nor as hex).
  const std::string key_file = StateDir() + "/digest_key";
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string key = ReadAll(key_file);
  ASSERT_EQ(key.size(), 32u);
  std::string key_hex;
  for (unsigned char c : key) {
    static constexpr char kHex[] = "0123456789abcdef";
    key_hex.push_back(kHex[c >> 4U]);
    key_hex.push_back(kHex[c & 0xFU]);
  }

  // A restart of the same agent: the same digests.
  StopAgent();
  const std::size_t before_restart = control_plane_->ListSnapshots().size();
  StartAgent();
  std::string pins_after_restart;
  ASSERT_TRUE(WaitFor(
      [&] {
        pins_after_restart = NewestDigest("public.pins", before_restart);
        return !pins_after_restart.empty();
      },
      60s))
      << agent_->Log();
  EXPECT_EQ(pins_after_restart, pins);

  // Drift: the default changes, so does the digest; the other table's stays.
  cluster_->Exec("ALTER TABLE pins ALTER COLUMN pin SET DEFAULT '4822'");
  std::string pins_changed;
  ASSERT_TRUE(WaitFor(
      [&] {
        pins_changed = NewestDigest("public.pins", before_restart);
        return !pins_changed.empty() && pins_changed != pins;
      },
      60s))
      << agent_->Log();
  EXPECT_EQ(NewestDigest("public.vault", before_restart), vault);
  StopAgent();

  const std::string stored = StoredBytes(*control_plane_);
  for (const std::string& where : {stored, agent_log_}) {
    EXPECT_EQ(where.find(key), std::string::npos);
    EXPECT_EQ(where.find(key_hex), std::string::npos);
  }
}

// The agent's state directory, left world-readable by an earlier install with a file in it:
// after a start the directory and everything the agent keeps in it are private (status.json,
// documented 0644, aside).
TEST_F(AnonymizationAttackTest, StateDirectoryIsMadePrivateAtStartWhateverModesItHad) {
  ASSERT_EQ(::mkdir(StateDir().c_str(), 0755), 0);
  ::chmod(StateDir().c_str(), 0755);
  const std::string agent_id = StateDir() + "/agent_id";
  std::ofstream(agent_id) << "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b\n";
  ::chmod(agent_id.c_str(), 0644);
  ASSERT_EQ(::mkdir((StateDir() + "/spool").c_str(), 0777), 0);
  ::chmod((StateDir() + "/spool").c_str(), 0777);
  const std::string stale = StateDir() + "/spool/stale.json.gz.tmp";
  std::ofstream(stale) << "x";
  ::chmod(stale.c_str(), 0666);

  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return control_plane_->ListSnapshots().size() >= 1; }, 60s))
      << agent_->Log();
  StopAgent();

  struct stat st {};
  ASSERT_EQ(::stat(StateDir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(StateDir())) {
    ASSERT_EQ(::lstat(entry.path().c_str(), &st), 0);
    const std::string name = entry.path().filename().string();
    if (entry.is_directory()) {
      EXPECT_EQ(st.st_mode & 0777, 0700u) << entry.path();
    } else if (name == "status.json") {
      EXPECT_EQ(st.st_mode & 0777, 0644u) << entry.path();
    } else {
      EXPECT_EQ(st.st_mode & 0777, 0600u) << entry.path();
      ++files;
    }
  }
  EXPECT_GE(files, 2u);  // agent_id and digest_key at least
}

}  // namespace
}  // namespace optischema::testing

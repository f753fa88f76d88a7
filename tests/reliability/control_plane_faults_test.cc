// The control plane misbehaving under a running agent: answering 500, hanging, dropping the
// connection mid-request or mid-reply, answering with garbage or with a body far too large. The
// agent daemon, PostgreSQL 15 and the reference control plane are real; a TLS front
// (FaultyControlPlane) between the agent and the control plane injects the fault. For each: the
// daemon keeps running and collecting, logs the failure, retries with backoff, and once the
// control plane answers properly again every snapshot it took arrives exactly once, in order.

#include <signal.h>

#include <chrono>
#include <string>

#include "tests/reliability/reliability_support.h"
#include "tests/support/faulty_control_plane.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/wait_for.h"

namespace optischema::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct FaultCase {
  const char* name;
  ControlPlaneFault fault;
  // In the "error" of the agent's warning about the control plane: one of these, '|'-separated.
  const char* logged;
};

void PrintTo(const FaultCase& c, std::ostream* out) { *out << c.name; }

// The agent's warnings about a failing control plane: no answer, an error status, or a reply that
// is not protocol v1. Which one a fault gives first depends on which exchange meets it first.
bool IsControlPlaneWarning(const std::string& message) {
  return message.starts_with("control plane unreachable") ||
         message.starts_with("control plane answers with an error") ||
         message.starts_with("control plane sent a reply the agent cannot use");
}

bool AnyOf(const std::string& text, const std::string& alternatives) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t bar = alternatives.find('|', start);
    if (text.find(alternatives.substr(start, bar - start)) != std::string::npos) return true;
    if (bar == std::string::npos) return false;
    start = bar + 1;
  }
}

class ControlPlaneFaultTest : public ::testing::TestWithParam<FaultCase> {
 protected:
  // One PostgreSQL cluster and one control plane for the whole suite; each case has its own
  // agent (own state directory, so own agent id) and its own faulty front.
  static void SetUpTestSuite() {
    servers_ = SuiteServers::Start();
    servers_->cluster->Exec("CREATE TABLE items (id int PRIMARY KEY, name text)");
    servers_->cluster->Exec(
        "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g");
  }
  static void TearDownTestSuite() { servers_.reset(); }

  void SetUp() override {
    dir_ = MakeScratchDir("reliab-cp");
    std::ofstream(dir_ + "/api-key") << servers_->api_key << "\n";
    front_ = FaultyControlPlane::Start(servers_->control_plane->port(), dir_);
    workload_ = std::make_unique<PgConn>(Connect(servers_->cluster->ConnectionString()));
  }
  void TearDown() override {
    agent_.reset();
    front_.reset();
    workload_.reset();
    std::filesystem::remove_all(dir_);
  }

  void RunWorkload() {
    for (int i = 1; i <= 3; ++i) {
      RunSql(workload_->get(), "SELECT name FROM items WHERE id = " + std::to_string(i));
    }
  }

  std::string dir_;
  std::unique_ptr<FaultyControlPlane> front_;
  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<PgConn> workload_;

  static inline std::unique_ptr<SuiteServers> servers_;
};

TEST_P(ControlPlaneFaultTest, DaemonSurvivesRetriesWithBackoffAndDeliversEverythingOnceInOrder) {
  const FaultCase& c = GetParam();
  AgentSettings settings;
  settings.state_dir = dir_ + "/state";
  settings.url = front_->base_url();
  settings.ca_file = front_->ca_file();
  settings.api_key_file = dir_ + "/api-key";
  settings.dsn = servers_->cluster->ConnectionString();
  // A hanging control plane is given up on after 2 s.
  settings.extra_control_plane = "timeout = \"2s\"\nrecommendations_interval = \"1h\"\n";
  agent_ = AgentProcess::Start(dir_, {AgentToml(settings), {}});
  ASSERT_TRUE(WaitFor(
      [&] {
        RunWorkload();
        return front_->Count(ControlPlaneFault::kNone, "/snapshots") >= 2 &&
               !ReadAgentId(settings.state_dir).empty() &&
               StoredIds(*servers_->control_plane, ReadAgentId(settings.state_dir)).size() >= 2;
      },
      30s))
      << agent_->Log();
  const std::string agent_id = ReadAgentId(settings.state_dir);

  front_->SetFault(c.fault);
  const auto fault_began = SteadyClock::now();
  const std::size_t log_lines_before = LogLines(*agent_).size();
  const std::size_t spooled_before = SpooledIds(*agent_).size();
  // Collection goes on, and the agent tries again, several times.
  ASSERT_TRUE(WaitFor(
      [&] {
        RunWorkload();
        return front_->Count(c.fault, "/snapshots") >= 3 &&
               SpooledIds(*agent_).size() >= spooled_before + 4;
      },
      60s))
      << "attempts: " << front_->Count(c.fault, "/snapshots") << "\n"
      << agent_->Log();
  const double fault_seconds =
      std::chrono::duration<double>(SteadyClock::now() - fault_began).count();
  const std::size_t attempts = front_->Count(c.fault, "/snapshots");
  EXPECT_FALSE(agent_->WaitExit(0ms).has_value()) << "the agent died\n" << agent_->Log();
  // Backing off, not hammering. Delays are drawn uniformly below a ceiling that doubles from 1 s
  // (full jitter), so the first few attempts may come close together, but the eighth waits below
  // a 128 s ceiling: a handful of attempts, where a retry loop without backoff makes hundreds.
  EXPECT_LE(static_cast<double>(attempts), 8 + fault_seconds)
      << attempts << " attempts in " << fault_seconds << " s";
  // The failure is logged, with what went wrong.
  bool logged = false;
  const std::vector<json> lines = LogLines(*agent_);
  for (std::size_t i = log_lines_before; i < lines.size(); ++i) {
    const std::string level = lines[i].value("level", "");
    if ((level == "warning" || level == "error") &&
        IsControlPlaneWarning(lines[i].value("msg", "")) &&
        AnyOf(lines[i].value("error", ""), c.logged)) {
      logged = true;
    }
  }
  EXPECT_TRUE(logged) << "no warning mentioning \"" << c.logged << "\"\n" << agent_->Log();
  // Nothing the control plane did not acknowledge left the spool.
  EXPECT_GE(SpoolEntries(settings.state_dir + "/spool"), 3u);

  front_->SetFault(ControlPlaneFault::kNone);
  const std::vector<std::string> spooled_at_recovery = SpooledIds(*agent_);
  ASSERT_TRUE(WaitFor(
      [&] {
        return ContainsAll(StoredIds(*servers_->control_plane, agent_id), spooled_at_recovery);
      },
      90s))
      << agent_->Log();
  agent_->Signal(SIGTERM);
  ASSERT_EQ(agent_->WaitExit(10s), std::optional<int>(0)) << agent_->Log();

  // Exactly once and in the order taken: what the control plane stored is what the agent spooled.
  const std::vector<std::string> spooled = SpooledIds(*agent_);
  const std::vector<std::string> stored = StoredIds(*servers_->control_plane, agent_id);
  EXPECT_EQ(stored, std::vector<std::string>(
                        spooled.begin(), spooled.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                               spooled.size(), stored.size()))));
  EXPECT_TRUE(ContainsAll(stored, spooled_at_recovery));
  EXPECT_EQ(std::set<std::string>(stored.begin(), stored.end()).size(), stored.size());
  EXPECT_TRUE(LogLines(*agent_, "snapshot could not be written to the spool; it is lost").empty());
  EXPECT_FALSE(std::filesystem::exists(settings.state_dir + "/spool/bad"))
      << "a snapshot was set aside";
}

INSTANTIATE_TEST_SUITE_P(
    Faults, ControlPlaneFaultTest,
    ::testing::Values(
        FaultCase{"ServerError500", ControlPlaneFault::kServerError, "HTTP 500"},
        FaultCase{"HangsWithoutAnswering", ControlPlaneFault::kHang, "timed out"},
        FaultCase{"ClosesConnectionMidRequest", ControlPlaneFault::kCloseMidRequest,
                  "the exchange failed"},
        // libcurl takes a reply cut inside its headers for a complete one with an empty body:
        // without the acknowledgement check the agent would drop the snapshot as delivered.
        FaultCase{"ClosesConnectionMidReply", ControlPlaneFault::kCloseMidReply,
                  "the exchange failed|acknowledgement"},
        FaultCase{"GarbageBody", ControlPlaneFault::kGarbageBody, "acknowledgement"},
        FaultCase{"OversizedBody", ControlPlaneFault::kOversizedBody, "larger than 4 MiB"}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

}  // namespace
}  // namespace optischema::testing

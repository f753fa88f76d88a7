// Fuzz target: the body of POST /v1/agents/{id}/snapshots on the reference control plane, after
// decompression, through what Api::Handle and Api::Snapshot do before they store anything: the JSON
// depth and element bounds of the route (input_limits.h), checked on the bytes, ParseJsonObject,
// ValidateSnapshot, and for a valid snapshot each element of its `proposals` through
// AgentProposal, the step that turns an agent's index proposal into a recommendation. (The gzip
// body is decompressed, within the size bound, by cpp-httplib, a Debian library; it is not product
// code and not fuzzed here.)
//
// Invariants (a failure aborts): a valid snapshot also validates with its snapshot_id as the
// Idempotency-Key; a proposal that is accepted can be approved (signed with the test key), and the
// signed recommendation parses and verifies, so nothing stored from an agent is unapprovable.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "controlplane/agent_proposals.h"
#include "controlplane/input_limits.h"
#include "controlplane/message_validation.h"
#include "controlplane/recommendation_workflow.h"
#include "controlplane/snapshot_validation.h"
#include "core/time_format.h"
#include "protocol/json_bounds.h"
#include "protocol/recommendation.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace optischema;

void CheckProposal(const nlohmann::json& element, const controlplane::SnapshotRecord& record) {
  const Result<controlplane::Proposal> proposal =
      controlplane::AgentProposal(element, record.agent_id, record.database, fuzz::TestNow());
  if (!proposal.ok()) return;
  const Result<std::string> approved = controlplane::SignApproval(
      proposal->json, "dba", FormatRfc3339(fuzz::TestNow()), fuzz::kTestPrivateKey);
  if (!approved.ok())
    fuzz::Fail("an accepted proposal cannot be approved: " + approved.error().message);
  if (!protocol::ParseRecommendation(*approved).ok()) {
    fuzz::Fail("an approved proposal does not parse as a recommendation");
  }
  if (!protocol::VerifyRecommendationSignature(*approved, fuzz::kTestPublicKey).ok()) {
    fuzz::Fail("an approved proposal does not verify");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::SilenceLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  if (!protocol::CheckJsonBounds(
           body, {controlplane::kMaxJsonDepth, controlplane::kLargeBodyJsonElements})
           .ok()) {
    return 0;
  }
  const Result<nlohmann::json> json = controlplane::ParseJsonObject(body);
  if (!json.ok()) return 0;
  const Result<controlplane::SnapshotRecord> record =
      controlplane::ValidateSnapshot(*json, fuzz::kTestAgentId, "");
  if (!record.ok()) return 0;
  if (!controlplane::ValidateSnapshot(*json, fuzz::kTestAgentId, record->snapshot_id).ok()) {
    fuzz::Fail("a valid snapshot is refused with its own id as the Idempotency-Key");
  }
  if (const auto proposals = json->find("proposals");
      proposals != json->end() && proposals->is_array()) {
    for (const nlohmann::json& element : *proposals) CheckProposal(element, *record);
  }
  return 0;
}

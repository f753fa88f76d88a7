// Fuzz target: the reference control plane's request handling, through Api::Handle over a real
// SQLite store, for every route that takes a body. The first byte of the input picks the route,
// the rest is the body as cpp-httplib hands it over (decompressed). This is the entry point that
// applies the input bounds (input_limits.h): the JSON depth and element scan before any parse,
// the route's element bound, the in-flight memory claim.
//
// Invariants (a failure aborts): every reply is a JSON object carrying "protocol", with status
// 200, 202, 400, 404 or 413; a body holding a NUL byte (where nlohmann's parser would stop) is
// answered 400; a body nested past kMaxJsonDepth is answered 400 naming a JSON bound; and
// for a body the scan accepts that parses, the parsed tree (walked without recursion) is no
// deeper and has no more elements than the scan counted, so the bound the scan enforces holds
// for the tree. (Fewer only with repeated object keys: the parser keeps the last one.)

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controlplane/api.h"
#include "controlplane/api_keys.h"
#include "controlplane/input_limits.h"
#include "controlplane/request_budget.h"
#include "controlplane/store.h"
#include "core/clock.h"
#include "protocol/json_bounds.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace optischema;
using controlplane::ApiReply;

constexpr char kKey[] = "osk_fuzz-key";

class FixedClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return fuzz::TestNow(); }
  std::chrono::steady_clock::time_point Monotonic() const override { return {}; }
};

struct Server {
  FixedClock clock;
  std::unique_ptr<controlplane::Store> store;
  std::unique_ptr<controlplane::Api> api;
  controlplane::RequestBudget budget{controlplane::kDefaultMaxInflightBytes};
};

Server& TheServer() {
  static Server* const server = [] {
    auto* s = new Server;
    auto store = controlplane::Store::Open(fuzz::ScratchDir() + "/data",
                                           controlplane::Store::OpenMode::kCreate, s->clock);
    if (!store.ok()) fuzz::Fail("cannot open the store: " + store.error().message);
    s->store = std::move(*store);
    if (!s->store->AddApiKey("fuzz", controlplane::ApiKeySha256Hex(kKey)).ok()) {
      fuzz::Fail("cannot add the API key");
    }
    if (!s->store->UpsertAgent({fuzz::kTestAgentId, "h", "0.1.0", "[]"}).ok()) {
      fuzz::Fail("cannot register the test agent");
    }
    s->api = std::make_unique<controlplane::Api>(*s->store, controlplane::ApiOptions{}, s->clock);
    return s;
  }();
  return *server;
}

const std::vector<std::string>& Routes() {
  static const std::vector<std::string> routes = {
      "/v1/agents/register",
      std::string("/v1/agents/") + fuzz::kTestAgentId + "/heartbeat",
      std::string("/v1/agents/") + fuzz::kTestAgentId + "/snapshots",
      std::string("/v1/agents/") + fuzz::kTestAgentId + "/audit",
      std::string("/v1/agents/") + fuzz::kTestAgentId + "/recommendations/r-1/events",
  };
  return routes;
}

// Depth and elements of `root`, walked with an explicit stack.
protocol::JsonShape ShapeOf(const nlohmann::json& root) {
  protocol::JsonShape shape;
  std::vector<std::pair<const nlohmann::json*, std::size_t>> pending = {{&root, 0}};
  while (!pending.empty()) {
    const auto [value, depth] = pending.back();
    pending.pop_back();
    if (!value->is_structured()) continue;
    if (depth + 1 > shape.depth) shape.depth = depth + 1;
    shape.elements += value->size();
    for (const nlohmann::json& child : *value) pending.emplace_back(&child, depth + 1);
  }
  return shape;
}

void CheckScanMatchesTree(std::string_view body, const protocol::JsonShape& scanned) {
  const nlohmann::json tree = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (tree.is_discarded()) return;
  const protocol::JsonShape walked = ShapeOf(tree);
  if (walked.depth > scanned.depth || walked.elements > scanned.elements) {
    fuzz::Fail("the shape scan counted depth " + std::to_string(scanned.depth) + " and " +
               std::to_string(scanned.elements) + " elements, the parsed tree has depth " +
               std::to_string(walked.depth) + " and " + std::to_string(walked.elements));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::SilenceLogging();
  (void)TheServer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Server& server = TheServer();
  const std::string& path = Routes()[data[0] % Routes().size()];
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);

  const controlplane::ApiRequest request{"POST", path, "", std::string("Bearer ") + kKey, ""};
  controlplane::RequestBudget::Claim memory(&server.budget);
  const ApiReply reply = server.api->Handle(
      request,
      [&](std::size_t max_bytes) -> std::variant<std::string, ApiReply> {
        if (body.size() > max_bytes) return controlplane::ErrorReply(413, "too large");
        return body;
      },
      &memory);

  const nlohmann::json reply_json = nlohmann::json::parse(reply.body, nullptr, false);
  if (!reply_json.is_object() || !reply_json.contains("protocol")) {
    fuzz::Fail("a reply is not a JSON object with \"protocol\": " + reply.body);
  }
  if (reply.status != 200 && reply.status != 202 && reply.status != 400 && reply.status != 404 &&
      reply.status != 413) {
    fuzz::Fail("unexpected status " + std::to_string(reply.status) + ": " + reply.body);
  }
  if (reply.status == 413) return 0;
  if (body.find('\0') != std::string::npos) {
    if (reply.status != 400) fuzz::Fail("a body with a NUL byte was not refused: " + reply.body);
    return 0;
  }
  // Depth alone: the element bound differs by route, and whichever bound the scan meets first is
  // the reason given.
  const auto scanned =
      protocol::CheckJsonBounds(body, {controlplane::kMaxJsonDepth, static_cast<std::size_t>(-1)});
  if (!scanned.ok()) {
    const std::string error = reply_json.value("error", "");
    if (reply.status != 400 ||
        (error != scanned.error().message && error.find(" JSON elements ") == std::string::npos)) {
      fuzz::Fail("a body past the JSON bounds was not refused with their reason: " + reply.body);
    }
    return 0;
  }
  CheckScanMatchesTree(body, *scanned);
  return 0;
}

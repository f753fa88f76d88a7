#pragma once

// SnapshotSender: delivers spooled snapshots to the control plane, oldest first, one attempt per
// DeliverOne() call. An entry leaves the spool only after a 2xx (202 accepted, or 200 for a replay
// the server already stored) whose body is the control plane's JSON acknowledgement (see
// IsAcknowledgement; anything else is retried like a 5xx), or, when the server refuses it for good
// (4xx other than 401/403/404/408/429), by moving to the spool's bad/ folder — never silently. A
// 404 means the control plane does not know the agent: the entry is kept and the caller registers
// again. Local failures (no HTTP status) never quarantine an entry. Network failures, 5xx and
// throttling keep the entry and say how long to wait. Not thread-safe: one sender thread; the
// collector may append to the same Spool concurrently.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "delivery/http_client.h"
#include "delivery/retry_policy.h"
#include "delivery/spool.h"

namespace optischema::delivery {

// Whether the body of a 2xx reply is an acknowledgement from the control plane: a JSON object. A
// body that is not (the HTML page of a proxy or captive portal answering 200, a garbled or cut
// reply) says nothing about whether the control plane stored the request, so the caller keeps
// what it sent and retries.
bool IsAcknowledgement(std::string_view body);

struct SendOutcome {
  enum class Kind {
    kIdle,         // spool empty
    kDelivered,    // accepted; removed from the spool
    kQuarantined,  // refused for good or unreadable; moved to bad/
    kDropped,      // dropped by the spool bound while it was read; nothing sent: go on at once
    // The entry is kept and sent again after `wait`:
    kRetryLater,            // the server asked for a pause (5xx, 408, 429), or a local failure
    kUnreachable,           // no answer at all: an outage, not the server asking for a pause
    kBadReply,              // a 2xx whose body is not the control plane's acknowledgement
    kConfigurationProblem,  // 401/403/3xx: the API key or URL needs fixing
    kAgentUnknown,          // 404: the control plane does not know this agent (any more):
                            // register again, then retry (`wait` is 0)
  };
  Kind kind = Kind::kIdle;
  std::chrono::milliseconds wait{0};
  std::string detail;  // for logs; never contains the API key

  // kUnreachable or kBadReply: the wait is that of an outage, so a sign of life from the control
  // plane may end it early (the server asked for no pause).
  bool WaitsOutOutage() const { return kind == Kind::kUnreachable || kind == Kind::kBadReply; }
};

class SnapshotSender {
 public:
  // A configuration problem is retried no faster than this: a person must fix it first.
  static constexpr std::chrono::milliseconds kConfigProblemWait = std::chrono::minutes(1);

  SnapshotSender(Spool& spool, HttpClient& http, std::string agent_id, Backoff backoff);

  SendOutcome DeliverOne();

  uint64_t delivered() const { return delivered_; }
  uint64_t quarantined() const { return quarantined_; }

 private:
  SendOutcome Quarantine(const SpoolEntry& entry, std::string why);

  Spool& spool_;
  HttpClient& http_;
  std::string agent_id_;
  Backoff backoff_;
  uint64_t delivered_ = 0;
  uint64_t quarantined_ = 0;
};

}  // namespace optischema::delivery

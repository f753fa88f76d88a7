#pragma once

// Every bound the control plane puts on what agents send, in one place. docs/security.md
// ("Control-plane input bounds") and docs/operations.md describe them; `serve` options change the
// ones marked so.
//
// A request is refused, before its JSON is parsed or walked, when its body (decompressed) passes
// its route's byte bound (413), when its JSON nests deeper than kMaxJsonDepth or has more
// elements than its route allows (400), or when the memory of the requests in flight would pass
// the in-flight budget (503 with Retry-After).

#include <chrono>
#include <cstddef>

namespace optischema::controlplane {

inline constexpr std::size_t kKiB = 1024;
inline constexpr std::size_t kMiB = 1024 * kKiB;

// Arrays and objects open at once in any request body. Agents nest at most about ten.
inline constexpr std::size_t kMaxJsonDepth = 64;

// The largest body of any route (snapshots), compressed or decompressed; `serve --max-body-bytes`
// changes it, and every smaller bound below is capped by it.
inline constexpr std::size_t kDefaultMaxBodyBytes = 32 * kMiB;
inline constexpr std::size_t kMaxBodyBytesOption = std::size_t{1} << 30;

// Bodies per route. Registration: a few hundred databases with their extensions. Heartbeats and
// recommendation events: a few fields and at most twenty short error texts or one detail.
// Audit: the records the agent mirrors since its last success.
inline constexpr std::size_t kRegisterBodyBytes = 256 * kKiB;
inline constexpr std::size_t kHeartbeatBodyBytes = 64 * kKiB;
inline constexpr std::size_t kEventBodyBytes = 64 * kKiB;
inline constexpr std::size_t kAuditBodyBytes = 16 * kMiB;

// JSON elements (array elements plus object members) per body: small routes, and the large ones
// (a snapshot of 5,000 statements has about 150,000; schema and index advice add to it).
inline constexpr std::size_t kSmallBodyJsonElements = 20'000;
inline constexpr std::size_t kLargeBodyJsonElements = 1'000'000;

// In-flight request memory: bodies as they are read, plus for each parsed body an estimate of its
// tree (kParsedBytesPerElement per element, plus one more copy of the text for what is stored).
// `serve --max-inflight-bytes` changes the budget. A request alone in flight is admitted whatever
// its size (within its route's bounds), so every configuration makes progress.
inline constexpr std::size_t kDefaultMaxInflightBytes = 256 * kMiB;
inline constexpr std::size_t kParsedBytesPerElement = 128;
// What a request refused for the budget is told to wait before retrying.
inline constexpr std::chrono::seconds kBusyRetryAfter{5};

// Retention of heartbeats and snapshots (`serve --retention-days`, 0 keeps everything): older
// ones are deleted at start and every kRetentionSweepInterval, except each agent's latest
// heartbeat. Registrations, recommendations, their events and audit records are kept.
inline constexpr int kDefaultRetentionDays = 30;
inline constexpr int kMaxRetentionDays = 36'500;
inline constexpr std::chrono::minutes kRetentionSweepInterval{60};

// Modes of what the control plane writes in its data directory, whatever existed before.
inline constexpr unsigned kDataDirectoryMode = 0700;
inline constexpr unsigned kDataFileMode = 0600;

}  // namespace optischema::controlplane

#pragma once

// What the fuzz targets and the seed writer share: the fixed identities the seeds are made for, so
// that fuzzed variants of a seed reach past the checks that compare against them, and a scratch
// directory for targets that go through files.

#include <chrono>
#include <string>
#include <string_view>

namespace optischema::fuzz {

// The Ed25519 key pair of RFC 8032's first test vector: the recommendation seeds are signed with
// it, and the recommendation target re-signs fuzzed recommendations with it.
inline constexpr char kTestPublicKey[] = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
inline constexpr char kTestPrivateKey[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";

// The agent the seeds are for, the configured databases (shop: apply = true, billing: apply =
// false) and the clock the checks run at.
inline constexpr char kTestAgentId[] = "0b5d7c1e-9a7f-4c1e-8a55-2f0d9e3c4b6a";
inline constexpr char kApplyDatabase[] = "shop";
inline constexpr char kReadOnlyDatabase[] = "billing";
inline constexpr char kTestNow[] = "2026-11-22T12:00:00Z";
std::chrono::system_clock::time_point TestNow();

// Turns the default logger off: targets that log per input would spend their time writing lines.
void SilenceLogging();

// A directory of this process under $TMPDIR (or /tmp), made at the first call and removed with
// everything in it when the process exits normally. Aborts when it cannot be made.
const std::string& ScratchDir();

// Writes `bytes` to `path` (created or truncated); aborts on failure, which is the harness's.
void WriteFileOrDie(const std::string& path, std::string_view bytes);

// Aborts with `what` on stderr: an invariant of the code under test does not hold.
[[noreturn]] void Fail(std::string_view what);

}  // namespace optischema::fuzz

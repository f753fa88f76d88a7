#include "controlplane/audit_chain.h"

#include <map>
#include <nlohmann/json.hpp>

#include "protocol/canonical_json.h"
#include "protocol/sha256.h"

namespace optischema::controlplane {
namespace {

const std::string kZeroHash(64, '0');

struct Link {
  std::string hash;
  std::string prev_hash;
  bool hash_matches = false;
  bool conflicting = false;  // another record with this seq and a different hash arrived
};

ChainCheck Broken(int64_t records, int64_t seq, std::string reason) {
  return {false, records, seq, std::move(reason)};
}

}  // namespace

ChainCheck CheckAuditChain(const std::vector<std::string>& bodies) {
  std::map<int64_t, Link> chain;
  int64_t unreadable = 0;
  for (const std::string& body : bodies) {
    const nlohmann::json record = nlohmann::json::parse(body, nullptr, false);
    if (!record.is_object() || !record.contains("seq") || !record["seq"].is_number_integer() ||
        !record.contains("hash") || !record["hash"].is_string() ||
        !record.contains("prev_hash") || !record["prev_hash"].is_string()) {
      ++unreadable;
      continue;
    }
    const int64_t seq = record["seq"].get<int64_t>();
    Link link{record["hash"].get<std::string>(), record["prev_hash"].get<std::string>()};
    const auto unsigned_part = protocol::CanonicalJsonWithout(body, "hash");
    link.hash_matches = unsigned_part.ok() && protocol::Sha256Hex(*unsigned_part) == link.hash;
    const auto [it, inserted] = chain.emplace(seq, link);
    if (!inserted && it->second.hash != link.hash) it->second.conflicting = true;
  }
  const auto records = static_cast<int64_t>(chain.size());
  if (unreadable > 0) {
    return Broken(records, 0,
                  std::to_string(unreadable) + " record(s) without an integer seq or the hashes");
  }
  int64_t expected = 1;
  std::string previous = kZeroHash;
  for (const auto& [seq, link] : chain) {
    if (seq != expected) {
      return Broken(records, expected, "record " + std::to_string(expected) + " is missing");
    }
    if (link.conflicting) return Broken(records, seq, "two different records carry this seq");
    if (!link.hash_matches) return Broken(records, seq, "its hash does not match its content");
    if (link.prev_hash != previous) {
      return Broken(records, seq, "its prev_hash is not the hash of the record before");
    }
    previous = link.hash;
    ++expected;
  }
  return {true, records, 0, {}};
}

}  // namespace optischema::controlplane

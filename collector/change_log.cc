#include "collector/change_log.h"

#include <sys/mman.h>

#include <bit>
#include <cstring>
#include <new>
#include <type_traits>

namespace optischema::collector {

namespace {

// Record fields of a Change after the slot: the window counters in ForEachCounter order, then
// the cumulative min, max and stddev. Bit i of a record's mask is set when field i is stored.
constexpr unsigned kMinBit = 14;
constexpr unsigned kMaxBit = 15;
constexpr unsigned kStddevBit = 16;

uint8_t* PutVarint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

const uint8_t* GetVarint(const uint8_t* p, uint64_t* v) {
  uint64_t out = 0;
  for (unsigned shift = 0;; shift += 7) {
    const uint8_t b = *p++;
    out |= uint64_t{b & 0x7Fu} << shift;
    if ((b & 0x80) == 0) break;
  }
  *v = out;
  return p;
}

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

}  // namespace

ChangeLog::Id ChangeLog::Append(const Change& change) {
  if (chunks_.empty() || kChunkBytes - used_ < kMaxRecordBytes) {
    void* chunk = mmap(nullptr, kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
    if (chunk == MAP_FAILED) throw std::bad_alloc();
    std::unique_ptr<uint8_t, Unmap> owned(static_cast<uint8_t*>(chunk));
    ends_.reserve(chunks_.size());
    chunks_.reserve(chunks_.size() + 1);
    if (!chunks_.empty()) ends_.push_back(used_);
    chunks_.push_back(std::move(owned));
    used_ = 0;
  }
  const Id id = static_cast<Id>((chunks_.size() - 1) * kChunkBytes + used_);
  uint8_t* const start = chunks_.back().get() + used_;
  uint32_t mask = 0;
  unsigned bit = 0;
  protocol::ForEachCounter(
      [&mask, &bit](const char*, const auto& v) {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>) {
          if (Bits(v) != 0) mask |= 1u << bit;
        } else {
          if (v != 0) mask |= 1u << bit;
        }
        ++bit;
      },
      change.delta);
  if (Bits(change.min_exec_time_ms) != 0) mask |= 1u << kMinBit;
  if (Bits(change.max_exec_time_ms) != 0) mask |= 1u << kMaxBit;
  if (Bits(change.stddev_exec_time_ms) != 0) mask |= 1u << kStddevBit;

  uint8_t* p = start;
  std::memcpy(p, &change.slot, sizeof change.slot);
  p += sizeof change.slot;
  p = PutVarint(p, mask);
  const auto put_double = [&p](double v) {
    std::memcpy(p, &v, sizeof v);
    p += sizeof v;
  };
  bit = 0;
  protocol::ForEachCounter(
      [&](const char*, const auto& v) {
        if ((mask >> bit++ & 1u) == 0) return;
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>) {
          put_double(v);
        } else {
          // Zigzag, so that a (never expected) negative count stays short and exact.
          const auto u = static_cast<uint64_t>(v);
          p = PutVarint(p, (u << 1) ^ static_cast<uint64_t>(v >> 63));
        }
      },
      change.delta);
  if ((mask >> kMinBit & 1u) != 0) put_double(change.min_exec_time_ms);
  if ((mask >> kMaxBit & 1u) != 0) put_double(change.max_exec_time_ms);
  if ((mask >> kStddevBit & 1u) != 0) put_double(change.stddev_exec_time_ms);
  used_ += static_cast<std::size_t>(p - start);
  ++count_;
  return id;
}

std::size_t ChangeLog::Decode(const uint8_t* start, Change* out) {
  const uint8_t* p = start;
  std::memcpy(&out->slot, p, sizeof out->slot);
  p += sizeof out->slot;
  uint64_t mask = 0;
  p = GetVarint(p, &mask);
  const auto get_double = [&p]() {
    double v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  };
  unsigned bit = 0;
  protocol::ForEachCounter(
      [&](const char*, auto& v) {
        if ((mask >> bit++ & 1u) == 0) {
          v = 0;
          return;
        }
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>) {
          v = get_double();
        } else {
          uint64_t u = 0;
          p = GetVarint(p, &u);
          v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
        }
      },
      out->delta);
  out->min_exec_time_ms = (mask >> kMinBit & 1u) != 0 ? get_double() : 0.0;
  out->max_exec_time_ms = (mask >> kMaxBit & 1u) != 0 ? get_double() : 0.0;
  out->stddev_exec_time_ms = (mask >> kStddevBit & 1u) != 0 ? get_double() : 0.0;
  return static_cast<std::size_t>(p - start);
}

Change ChangeLog::Get(Id id) const {
  Change change;
  Decode(chunks_[id / kChunkBytes].get() + id % kChunkBytes, &change);
  return change;
}

void ChangeLog::Unmap::operator()(uint8_t* chunk) const { munmap(chunk, kChunkBytes); }

void ChangeLog::Clear() {
  std::vector<std::unique_ptr<uint8_t, Unmap>>().swap(chunks_);
  std::vector<std::size_t>().swap(ends_);
  used_ = 0;
  count_ = 0;
}

}  // namespace optischema::collector

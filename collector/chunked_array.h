#pragma once

// ChunkedArray: an array that grows in fixed chunks, so growing it never copies the elements and
// never holds the old and new storage at once (a std::vector doubling 100,000 readings would).
// Elements are value-initialized. Not thread-safe.

#include <array>
#include <cstddef>
#include <memory>
#include <vector>

namespace optischema::collector {

template <class T, std::size_t kChunk = 4096>
class ChunkedArray {
 public:
  T& operator[](std::size_t i) { return (*chunks_[i / kChunk])[i % kChunk]; }
  const T& operator[](std::size_t i) const { return (*chunks_[i / kChunk])[i % kChunk]; }
  std::size_t size() const { return chunks_.size() * kChunk; }
  // Makes indexes below `n` valid.
  void EnsureSize(std::size_t n) {
    while (size() < n) chunks_.push_back(std::make_unique<std::array<T, kChunk>>());
  }

 private:
  std::vector<std::unique_ptr<std::array<T, kChunk>>> chunks_;
};

}  // namespace optischema::collector

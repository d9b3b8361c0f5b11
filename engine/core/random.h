// Generator: a seed plus a running stream offset. Each consumer (a dropout layer's
// mask for one step, one epoch's shuffle, an initialiser) takes the next offset and
// draws element i of its stream with philox_uniform_at(seed, offset, i), on the CPU or
// on the GPU alike. Same seed, same sequence of calls => same numbers.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/philox.h"

namespace ser {

class Generator {
 public:
  explicit Generator(uint64_t seed = 42) : seed_(seed) {}

  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t offset) { offset_ = offset; }  // restored from a checkpoint

  // Reserves one stream and returns its offset.
  uint64_t next_stream() { return offset_++; }

  // Host conveniences drawing from a fresh stream.
  float uniform(float low, float high);  // one number
  void fill_uniform(float* out, int64_t n, float low, float high);
  // Fisher-Yates permutation of 0..n-1.
  std::vector<int64_t> permutation(int64_t n);

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

}  // namespace ser

// Philox4x32-10, the counter-based random generator of Salmon et al. (SC'11), as used by
// cuRAND and PyTorch. A (seed, counter) pair maps to four independent 32-bit words with
// no state, so the CPU and every CUDA thread draw the SAME numbers for the same
// (seed, offset): dropout masks and shuffles are reproducible on both devices.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define SER_HOST_DEVICE __host__ __device__
#else
#define SER_HOST_DEVICE
#endif

namespace ser {

struct Philox4x32 {
  uint32_t v[4];
};

SER_HOST_DEVICE inline void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t product = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(product >> 32);
  lo = static_cast<uint32_t>(product);
}

// Ten rounds of Philox4x32 on counter (c0..c3) with key (k0, k1).
SER_HOST_DEVICE inline Philox4x32 philox4x32_10(uint64_t counter, uint64_t subsequence, uint64_t seed) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = static_cast<uint32_t>(subsequence), c3 = static_cast<uint32_t>(subsequence >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(0xD2511F53u, c0, hi0, lo0);
    philox_mulhilo(0xCD9E8D57u, c2, hi1, lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform float in [0, 1) from 24 random bits (exactly representable).
SER_HOST_DEVICE inline float philox_uniform(uint32_t bits) { return (bits >> 8) * (1.0f / 16777216.0f); }

// The i-th uniform [0,1) number of stream (seed, offset): element i of a tensor filled
// from that stream. Four consecutive i share one Philox call.
SER_HOST_DEVICE inline float philox_uniform_at(uint64_t seed, uint64_t offset, uint64_t i) {
  const Philox4x32 r = philox4x32_10(i / 4, offset, seed);
  return philox_uniform(r.v[i % 4]);
}

}  // namespace ser

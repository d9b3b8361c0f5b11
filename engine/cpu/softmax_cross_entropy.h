// Fused softmax + sparse categorical cross-entropy on the host, mean over the batch:
//   probs = softmax(logits), loss = mean_n(logsumexp(logits[n]) - logits[n, label[n]]),
//   dlogits = (probs - onehot(label)) / N   (OVERWRITTEN).
// Layouts: logits, probs, dlogits (N, K) row-major; labels (N) in [0, K) (checked by the caller).
// log-sum-exp with the row maximum subtracted, so large logits never overflow.
#pragma once

#include <cmath>
#include <cstdint>

namespace ser::cpu {

// Returns the mean loss. dlogits may be null (evaluation only).
template <typename T>
double softmax_cross_entropy(T* probs, T* dlogits, const T* logits, const int32_t* labels, int N, int K) {
  double total = 0.0;
  for (int n = 0; n < N; ++n) {
    const T* z = logits + static_cast<int64_t>(n) * K;
    double zmax = z[0];
    for (int k = 1; k < K; ++k) zmax = std::fmax(zmax, static_cast<double>(z[k]));
    double sum = 0.0;
    for (int k = 0; k < K; ++k) sum += std::exp(z[k] - zmax);
    const double log_sum = std::log(sum) + zmax;
    total += log_sum - z[labels[n]];
    for (int k = 0; k < K; ++k) {
      const double p = std::exp(z[k] - log_sum);
      probs[static_cast<int64_t>(n) * K + k] = static_cast<T>(p);
      if (dlogits != nullptr)
        dlogits[static_cast<int64_t>(n) * K + k] = static_cast<T>((p - (k == labels[n] ? 1.0 : 0.0)) / N);
    }
  }
  return total / N;
}

}  // namespace ser::cpu

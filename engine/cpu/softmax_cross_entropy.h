// Fused softmax + sparse categorical cross-entropy on the host, mean over the batch:
//   probs = softmax(logits), loss = mean_n(logsumexp(logits[n]) - logits[n, label[n]]),
//   dlogits = (probs - onehot(label)) / N   (OVERWRITTEN).
// Layouts: logits, probs, dlogits (N, K) row-major; labels (N) in [0, K) (checked by the caller).
// log-sum-exp in double with the row maximum subtracted, so large logits never overflow and
// a true class far below the maximum still gets its exact loss (not -log of a rounded 0).
// Training (here and Network::loss_on_cuda) and evaluation (train::evaluate) share it.
#pragma once

#include <cmath>
#include <cstdint>

namespace ser::cpu {

// log(sum_k exp(z[k])) of one row z (K), in double.
template <typename T>
double log_sum_exp(const T* z, int K) {
  double zmax = z[0];
  for (int k = 1; k < K; ++k) zmax = std::fmax(zmax, static_cast<double>(z[k]));
  double sum = 0.0;
  for (int k = 0; k < K; ++k) sum += std::exp(z[k] - zmax);
  return std::log(sum) + zmax;
}

// probs = softmax(logits) row by row (prediction, no labels). probs, logits: (N, K).
template <typename T>
void softmax(T* probs, const T* logits, int N, int K) {
  for (int n = 0; n < N; ++n) {
    const T* z = logits + static_cast<int64_t>(n) * K;
    const double log_sum = log_sum_exp(z, K);
    for (int k = 0; k < K; ++k) probs[static_cast<int64_t>(n) * K + k] = static_cast<T>(std::exp(z[k] - log_sum));
  }
}

// Returns the mean loss. dlogits may be null (evaluation only).
template <typename T>
double softmax_cross_entropy(T* probs, T* dlogits, const T* logits, const int32_t* labels, int N, int K) {
  double total = 0.0;
  for (int n = 0; n < N; ++n) {
    const T* z = logits + static_cast<int64_t>(n) * K;
    const double log_sum = log_sum_exp(z, K);
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

// Soft targets: label smoothing and mixup. Row n's target distribution is
//   t[k] = (1 - smoothing) * (lambda[n] * [k == a[n]] + (1 - lambda[n]) * [k == b[n]]) + smoothing / K
// (PyTorch's cross_entropy(label_smoothing=...) applied to a mixup pair), and
//   loss = mean_n(logsumexp(z[n]) - sum_k t[k] z[n, k]),  dlogits = (probs - t) / N  (OVERWRITTEN).
// labels_a, labels_b: (N) in [0, K); lambda: (N) in [0, 1], or null for all 1 (no mixup).
// With smoothing 0 and no mixup this is softmax_cross_entropy exactly (same bits).
template <typename T>
double target_probability(int k, int32_t a, int32_t b, double lambda, double smoothing, int K) {
  const double hard = (k == a ? lambda : 0.0) + (k == b ? 1.0 - lambda : 0.0);
  return smoothing == 0.0 ? hard : (1.0 - smoothing) * hard + smoothing / K;
}

template <typename T>
double softmax_cross_entropy_soft(T* probs, T* dlogits, const T* logits, const int32_t* labels_a,
                                  const int32_t* labels_b, const float* lambda, double smoothing, int N, int K) {
  double total = 0.0;
  for (int n = 0; n < N; ++n) {
    const T* z = logits + static_cast<int64_t>(n) * K;
    const double log_sum = log_sum_exp(z, K);
    const double l = lambda ? static_cast<double>(lambda[n]) : 1.0;
    const int32_t a = labels_a[n], b = labels_b ? labels_b[n] : labels_a[n];
    for (int k = 0; k < K; ++k) {
      const double t = target_probability<T>(k, a, b, l, smoothing, K);
      total += t * (log_sum - z[k]);
      const double p = std::exp(z[k] - log_sum);
      probs[static_cast<int64_t>(n) * K + k] = static_cast<T>(p);
      if (dlogits != nullptr) dlogits[static_cast<int64_t>(n) * K + k] = static_cast<T>((p - t) / N);
    }
  }
  return total / N;
}

}  // namespace ser::cpu

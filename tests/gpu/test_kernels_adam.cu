// GPU kernel tests: the Keras 3 Adam step over a flat arena, against a double CPU loop
// and against the same formula in plain C++ float (which the kernel rounds like, since it
// avoids FMA contraction). Sizes that exercise the float4 body, the scalar tail and the
// misaligned (all-scalar) path; the host-step and device-counter variants.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "kernels/adam.h"
#include "kernels/device_array.h"
#include "support/gpu.h"
#include "test_kernels_support.h"

using namespace ser;
using kernels::DeviceArray;

namespace {

struct AdamState {
  std::vector<double> w, m, v;
};

// `steps` Adam steps starting at t = 1 in double, with a fixed gradient per step.
AdamState adam_reference_double(const std::vector<float>& w0, const std::vector<std::vector<float>>& grads,
                                const kernels::AdamHyper& h) {
  AdamState s{std::vector<double>(w0.begin(), w0.end()), std::vector<double>(w0.size(), 0.0),
              std::vector<double>(w0.size(), 0.0)};
  for (std::size_t t = 1; t <= grads.size(); ++t) {
    const double alpha = h.learning_rate * std::sqrt(1 - std::pow(h.beta2, double(t))) / (1 - std::pow(h.beta1, double(t)));
    for (std::size_t i = 0; i < w0.size(); ++i) {
      const double g = grads[t - 1][i];
      s.m[i] += (g - s.m[i]) * (1 - h.beta1);
      s.v[i] += (g * g - s.v[i]) * (1 - h.beta2);
      s.w[i] -= s.m[i] * alpha / (std::sqrt(s.v[i]) + h.epsilon);
    }
  }
  return s;
}

// The same steps with the float rounding of the kernel (constants rounded from double once).
std::vector<float> adam_reference_float(const std::vector<float>& w0, const std::vector<std::vector<float>>& grads,
                                        const kernels::AdamHyper& h) {
  std::vector<float> w = w0, m(w0.size(), 0.0f), v(w0.size(), 0.0f);
  const float b1 = static_cast<float>(1 - h.beta1), b2 = static_cast<float>(1 - h.beta2);
  const float eps = static_cast<float>(h.epsilon);
  for (std::size_t t = 1; t <= grads.size(); ++t) {
    const float alpha = kernels::adam_alpha(h, static_cast<int64_t>(t));
    for (std::size_t i = 0; i < w0.size(); ++i) {
      const float g = grads[t - 1][i];
      const float dm = (g - m[i]) * b1;
      m[i] = m[i] + dm;
      const float dv = (g * g - v[i]) * b2;
      v[i] = v[i] + dv;
      const float step = (m[i] * alpha) / (std::sqrt(v[i]) + eps);
      w[i] = w[i] - step;
    }
  }
  return w;
}

enum class Counter { Host, Device };

// Runs `grads.size()` steps on the GPU over arenas that start `misalign` floats into
// their allocation (1 forces the scalar path). Returns (w, m, v) after the steps.
std::vector<std::vector<float>> adam_on_gpu(const std::vector<float>& w0, const std::vector<std::vector<float>>& grads,
                                            const kernels::AdamHyper& h, int misalign, Counter counter) {
  const int64_t n = static_cast<int64_t>(w0.size());
  DeviceArray<float> w(n + misalign), g(n + misalign), m(n + misalign), v(n + misalign);
  std::vector<float> padded(misalign, 0.0f);
  padded.insert(padded.end(), w0.begin(), w0.end());
  w.upload(padded);
  DeviceArray<int64_t> step(1);
  for (std::size_t t = 1; t <= grads.size(); ++t) {
    std::vector<float> gp(misalign, 0.0f);
    gp.insert(gp.end(), grads[t - 1].begin(), grads[t - 1].end());
    g.upload(gp);
    if (counter == Counter::Host)
      kernels::adam_step(w.data() + misalign, g.data() + misalign, m.data() + misalign, v.data() + misalign, n, h,
                         static_cast<int64_t>(t), nullptr);
    else
      kernels::adam_step_device_counter(w.data() + misalign, g.data() + misalign, m.data() + misalign,
                                        v.data() + misalign, n, h, step.data(), nullptr);
  }
  if (counter == Counter::Device) CHECK(step.download()[0] == static_cast<int64_t>(grads.size()));
  std::vector<std::vector<float>> out;
  for (DeviceArray<float>* a : {&w, &m, &v}) {
    const std::vector<float> all = a->download();
    out.emplace_back(all.begin() + misalign, all.end());
  }
  return out;
}

// Tolerances against double: m, v and w carry float rounding of a few operations per step
// (3 steps): 1e-6 absolute on w ~ 1 and m ~ 0.1 (updates are ~3e-4, so a wrong alpha_t,
// beta or epsilon placement shows), 1e-7 on v ~ 1e-2.
void check_adam(int64_t n, int misalign, Counter counter) {
  CAPTURE(n);
  CAPTURE(misalign);
  CAPTURE(counter == Counter::Device);
  const kernels::AdamHyper h;  // Keras defaults of the protocol: 1e-3, 0.9, 0.999, 1e-7
  const auto w0 = test::uniform_values(n, -1.0f, 1.0f, 41);
  std::vector<std::vector<float>> grads;
  for (uint32_t t = 0; t < 3; ++t) grads.push_back(test::uniform_values(n, -0.5f, 0.5f, 50 + t));
  const AdamState want = adam_reference_double(w0, grads, h);
  const auto got = adam_on_gpu(w0, grads, h, misalign, counter);
  CHECK(test::max_abs_error(got[0], want.w) <= 1e-6);
  CHECK(test::max_abs_error(got[1], want.m) <= 1e-6);
  CHECK(test::max_abs_error(got[2], want.v) <= 1e-7);
  // Same float formula on the CPU: the kernel uses round-to-nearest ops without FMA, so
  // it should agree bit for bit (the device counter computes alpha_t in device double,
  // which rounds to the same float unless pow differs in its last bit).
  if (counter == Counter::Host) CHECK(got[0] == adam_reference_float(w0, grads, h));
}

}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("adam_step (host step) matches the Keras 3 formula") {
  SER_REQUIRE_GPU();
  for (int64_t n : {int64_t(1), int64_t(3), int64_t(4), int64_t(1027), int64_t(65536 + 3)}) {
    check_adam(n, 0, Counter::Host);  // float4 body + scalar tail
    check_adam(n, 1, Counter::Host);  // misaligned: scalar path
  }
}

TEST_CASE("adam_step_device_counter increments the counter and matches the host-step result") {
  SER_REQUIRE_GPU();
  for (int64_t n : {int64_t(1), int64_t(1027), int64_t(65536 + 3)}) {
    check_adam(n, 0, Counter::Device);
    check_adam(n, 1, Counter::Device);
  }
}

// Argument checks run on the host before any launch: this case needs no device.
TEST_CASE("adam_step rejects bad arguments on the host") {
  const kernels::AdamHyper h;
  CHECK_THROWS_AS(kernels::adam_step(nullptr, nullptr, nullptr, nullptr, 4, h, 0, nullptr), Error);  // t < 1
  CHECK_THROWS_AS(kernels::adam_step(nullptr, nullptr, nullptr, nullptr, -1, h, 1, nullptr), Error);
  kernels::AdamHyper bad = h;
  bad.beta2 = 1.0;
  CHECK_THROWS_AS(kernels::adam_step(nullptr, nullptr, nullptr, nullptr, 4, bad, 1, nullptr), Error);
}

}  // TEST_SUITE

// GPU kernel tests: the Keras 3 Adam step over a flat arena, against a double CPU loop
// and against the same formula in plain C++ float (which the kernel rounds like, since it
// avoids FMA contraction). Sizes that exercise the float4 body, the scalar tail and the
// misaligned (all-scalar) path; the host-step and device-counter variants. AdamW with the
// one-cycle schedule against the CPU optimizer itself (engine/cpu/adam.h with lr_at(t - 1)).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/core/error.h"
#include "engine/cpu/adam.h"
#include "engine/nn/lr_schedule.h"
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

// The robust recipe's optimizer at test scale: AdamW (decay 1e-2), one-cycle over 6 steps
// peaking at 2e-3; 8 steps are run, so the last two are past the schedule's end.
kernels::AdamHyper adamw_onecycle() {
  kernels::AdamHyper h;
  h.learning_rate = 2e-3;
  h.weight_decay = 1e-2;
  h.schedule.kind = nn::LrScheduleKind::OneCycle;
  h.schedule.total_steps = 6;
  h.schedule.pct_start = 0.3;
  return h;
}

// cpu::adam_step (the CPU optimizer, float) for each step with lr = schedule.lr_at(t - 1)
// evaluated here from a schedule whose max_lr is the peak rate. Returns (w, m, v).
std::vector<std::vector<float>> adamw_reference_cpu(const std::vector<float>& w0,
                                                    const std::vector<std::vector<float>>& grads,
                                                    const kernels::AdamHyper& h) {
  std::vector<float> w = w0, m(w0.size(), 0.0f), v(w0.size(), 0.0f);
  nn::LrSchedule schedule = h.schedule;
  schedule.max_lr = h.learning_rate;
  for (std::size_t t = 1; t <= grads.size(); ++t)
    cpu::adam_step(w.data(), m.data(), v.data(), grads[t - 1].data(), static_cast<int64_t>(w.size()),
                   schedule.lr_at(static_cast<int64_t>(t) - 1), h.beta1, h.beta2, h.epsilon, static_cast<int64_t>(t),
                   h.weight_decay);
  return {w, m, v};
}

// Host step: bit for bit (lr_t, alpha_t and the decay factor are the CPU's doubles rounded
// once; the element update is the CPU's float formula without FMA). Device counter: lr_t,
// alpha_t and decay are the device's double cos / pow, which may differ from the host's in
// a last double bit and then (rarely) round to another float: 1e-6 max-norm relative, far
// below what a wrong step index shows (the one-cycle rate changes ~50 % from step to step
// here, ~1e-4 on w per step).
void check_adamw(int64_t n, int misalign, Counter counter) {
  CAPTURE(n);
  CAPTURE(misalign);
  CAPTURE(counter == Counter::Device);
  const kernels::AdamHyper h = adamw_onecycle();
  const auto w0 = test::uniform_values(n, -1.0f, 1.0f, 81);
  std::vector<std::vector<float>> grads;
  for (uint32_t t = 0; t < 8; ++t) grads.push_back(test::uniform_values(n, -0.5f, 0.5f, 90 + t));
  const auto want = adamw_reference_cpu(w0, grads, h);
  const auto got = adam_on_gpu(w0, grads, h, misalign, counter);
  if (counter == Counter::Host) {
    CHECK(got[0] == want[0]);
    CHECK(got[1] == want[1]);
    CHECK(got[2] == want[2]);
  } else {
    CHECK(test::max_norm_relative_error(got[0], want[0]) <= 1e-6);
    CHECK(got[1] == want[1]);  // m and v do not depend on the rate
    CHECK(got[2] == want[2]);
  }
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

TEST_CASE("AdamW with the one-cycle schedule (host step) equals the CPU optimizer bit for bit") {
  SER_REQUIRE_GPU();
  for (int64_t n : {int64_t(1), int64_t(7), int64_t(1027), int64_t(65536 + 3)}) {
    check_adamw(n, 0, Counter::Host);
    check_adamw(n, 1, Counter::Host);
  }
}

TEST_CASE("AdamW with the one-cycle schedule (device counter) follows the CPU optimizer") {
  SER_REQUIRE_GPU();
  for (int64_t n : {int64_t(1), int64_t(1027), int64_t(65536 + 3)}) {
    check_adamw(n, 0, Counter::Device);
    check_adamw(n, 1, Counter::Device);
  }
}

// Host-side arithmetic: no device needed.
TEST_CASE("adam_alpha and adamw_decay follow the schedule's rate of step t (lr_at(t - 1))") {
  const kernels::AdamHyper h = adamw_onecycle();
  nn::LrSchedule schedule = h.schedule;
  schedule.max_lr = 12345.0;  // ignored: the kernel's peak is AdamHyper::learning_rate
  kernels::AdamHyper other = h;
  other.schedule = schedule;
  for (int64_t t = 1; t <= 9; ++t) {
    CAPTURE(t);
    nn::LrSchedule peak = h.schedule;
    peak.max_lr = h.learning_rate;
    const double lr = peak.lr_at(t - 1);
    CHECK(h.rate_of_step(t) == lr);
    CHECK(other.rate_of_step(t) == lr);
    const double td = static_cast<double>(t);
    CHECK(kernels::adam_alpha(h, t) ==
          static_cast<float>(lr * std::sqrt(1.0 - std::pow(h.beta2, td)) / (1.0 - std::pow(h.beta1, td))));
    CHECK(kernels::adamw_decay(h, t) == static_cast<float>(lr * h.weight_decay));
  }
  // The first step starts at max_lr / div_factor; past the end the rate stays at the final one.
  CHECK(h.rate_of_step(1) == doctest::Approx(2e-3 / 25.0).epsilon(1e-12));
  CHECK(h.rate_of_step(8) == h.rate_of_step(6));
  // A constant schedule is the plain Adam of before: lr itself at every step.
  kernels::AdamHyper plain;
  plain.learning_rate = 3e-4;
  CHECK(plain.rate_of_step(1) == 3e-4);
  CHECK(plain.rate_of_step(1000) == 3e-4);
}

TEST_CASE("adam_step rejects a weight decay outside [0, 1) and a bad schedule on the host") {
  kernels::AdamHyper h;
  h.weight_decay = -0.1;
  CHECK_THROWS_AS(kernels::adam_step(nullptr, nullptr, nullptr, nullptr, 4, h, 1, nullptr), Error);
  h.weight_decay = 1.0;
  CHECK_THROWS_AS(kernels::adam_step(nullptr, nullptr, nullptr, nullptr, 4, h, 1, nullptr), Error);
  h = adamw_onecycle();
  h.schedule.div_factor = 0;
  CHECK_THROWS_AS(kernels::adam_step(nullptr, nullptr, nullptr, nullptr, 4, h, 1, nullptr), Error);
  h = adamw_onecycle();
  h.schedule.pct_start = 0;
  CHECK_THROWS_AS(kernels::adam_step_device_counter(nullptr, nullptr, nullptr, nullptr, 4, h, nullptr, nullptr), Error);
}

}  // TEST_SUITE

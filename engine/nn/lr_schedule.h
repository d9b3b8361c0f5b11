// Learning-rate schedules, as a pure function of the step index, so the host loop, a
// resumed run and the CUDA-graph step (whose Adam kernel reads the step count from device
// memory and evaluates this same inline function) all use the same rate for step t.
//   constant  lr(s) = max_lr
//   onecycle  PyTorch's OneCycleLR (anneal_strategy "cos", three_phase False, no momentum
//             cycling): from max_lr/div_factor up to max_lr over the first pct_start of the
//             steps, then down to max_lr/(div_factor*final_div_factor), both halves cosine:
//               phase 1: s in [0, e1], e1 = pct_start*total - 1
//               phase 2: s in (e1, e2], e2 = total - 1
//               lr = end + (start - end)/2 * (1 + cos(pi * (s - s0)/(e - s0)))
//             Steps past the end keep the final rate.
// s counts steps from 0: the rate used by Adam's step t (1-based) is lr_at(t - 1).
#pragma once

#include <cmath>
#include <cstdint>

#include "engine/core/philox.h"  // SER_HOST_DEVICE

namespace ser::nn {

enum class LrScheduleKind : int32_t { Constant = 0, OneCycle = 1 };

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::Constant;
  double max_lr = 1e-3;
  int64_t total_steps = 0;  // onecycle: epochs * steps per epoch
  double pct_start = 0.3, div_factor = 25.0, final_div_factor = 1e4;

  SER_HOST_DEVICE double lr_at(int64_t s) const {
    if (kind == LrScheduleKind::Constant || total_steps < 2) return max_lr;
    const double initial = max_lr / div_factor, final_lr = initial / final_div_factor;
    const double end1 = pct_start * static_cast<double>(total_steps) - 1.0;
    const double end2 = static_cast<double>(total_steps) - 1.0;
    const double step = s < static_cast<int64_t>(end2) ? static_cast<double>(s) : end2;
    double start_lr, end_lr, pct;
    if (step <= end1) {
      start_lr = initial, end_lr = max_lr, pct = end1 > 0.0 ? step / end1 : 1.0;
    } else {
      start_lr = max_lr, end_lr = final_lr, pct = (step - end1) / (end2 - end1);
    }
    return end_lr + (start_lr - end_lr) / 2.0 * (1.0 + cos(3.14159265358979323846 * pct));
  }
};

}  // namespace ser::nn

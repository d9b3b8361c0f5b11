// ModelRun: a model on a device holding the weights of a CPU model initialised from seed 7,
// with its optimizer and a Generator(11) for shuffles and dropout, so runs of the same
// architecture on the CPU and the GPU (or in two training loops) start from the same bits.
#pragma once

#include <vector>

#include "engine/core/random.h"
#include "engine/nn/adam.h"
#include "engine/nn/model.h"
#include "engine/train/trainer.h"

namespace ser::test {

struct ModelRun {
  ModelRun(const nn::Architecture& arch, Device device, nn::AdamConfig adam_config = {})
      : model(arch, device), adam(adam_config, model.parameter_count(), device), rng(11) {
    nn::Model init_model(arch);
    Generator init(7);
    init_model.initialize(init);
    model.load_named_state(train::copy_state(init_model));
  }
  // Every tensor of the model's named state, concatenated (host copy).
  std::vector<float> state() {
    std::vector<float> all;
    for (auto& [name, t] : model.named_state()) {
      const auto v = t.to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  }
  nn::Model model;
  nn::Adam adam;
  Generator rng;
};

}  // namespace ser::test

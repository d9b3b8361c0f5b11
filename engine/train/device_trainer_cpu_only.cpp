// engine/train/device_trainer.h in the CPU-only build: constructing one is a clear error.
#include "engine/core/error.h"
#include "engine/train/device_trainer.h"

namespace ser::train {

struct DeviceTrainer::Impl {
  DeviceStepCounts counts;
};

DeviceTrainer::DeviceTrainer(nn::Model&, nn::Adam&, Generator&, const Dataset&, TrainConfig, DeviceTrainerOptions) {
  SER_FAIL("the device-resident GPU trainer: ser was built without the CUDA backend (configure with a CUDA "
           "toolkit and cuDNN)");
}

DeviceTrainer::~DeviceTrainer() = default;

EpochStats DeviceTrainer::train_epoch(int) { SER_FAIL("DeviceTrainer: built without CUDA"); }

const DeviceStepCounts& DeviceTrainer::counts() const { return impl_->counts; }

}  // namespace ser::train

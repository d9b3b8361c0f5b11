// The checking entries of Layer<T> (see layer.h): shapes and device first, then the
// CPU implementation.
#include "engine/nn/layer.h"

#include "engine/core/error.h"

namespace ser::nn {

int64_t total_numel(const std::vector<ParamSpec>& specs) {
  int64_t n = 0;
  for (const auto& s : specs) n += s.shape.numel();
  return n;
}

template <typename T>
void Layer<T>::check_device(Device device, const char* what) const {
  SER_CHECK(device == Device::CPU, "layer {} ({}): {} on {} is not implemented on CUDA yet", name_, kind(), what,
            device_name(device));
}

template <typename T>
void Layer<T>::forward(View<const T> x, View<T> y, Mode mode) {
  check_device(x.device, "forward input");
  check_device(y.device, "forward output");
  const Shape expected = output_shape(x.shape);
  SER_CHECK(y.shape == expected, "layer {} ({}): output buffer has shape {}, expected {} for input {}", name_,
            kind(), y.shape.str(), expected.str(), x.shape.str());
  SER_CHECK(x.data != nullptr && y.data != nullptr, "layer {} ({}): null input or output buffer", name_, kind());
  SER_CHECK(parameter_specs().empty() || params_ != nullptr, "layer {} ({}): parameters not bound", name_, kind());
  input_shape_ = x.shape;
  x_ = x.data;
  mode_ = mode;
  has_forward_ = true;
  forward_cpu(x.data, y.data, mode);
}

template <typename T>
void Layer<T>::backward(View<const T> dy, View<T> dx) {
  SER_CHECK(has_forward_, "layer {} ({}): backward called before forward", name_, kind());
  check_device(dy.device, "backward output gradient");
  check_device(dx.device, "backward input gradient");
  const Shape out = output_shape(input_shape_);
  SER_CHECK(dy.shape == out, "layer {} ({}): dy has shape {}, expected {}", name_, kind(), dy.shape.str(),
            out.str());
  SER_CHECK(dx.data == nullptr || dx.shape == input_shape_, "layer {} ({}): dx has shape {}, expected {}", name_,
            kind(), dx.shape.str(), input_shape_.str());
  SER_CHECK(dy.data != nullptr, "layer {} ({}): null dy", name_, kind());
  backward_cpu(dy.data, dx.data);
}

template class Layer<float>;
template class Layer<double>;

}  // namespace ser::nn

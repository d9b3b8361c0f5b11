// The checking entries of Layer<T> (see layer.h): shapes and devices first, then the
// implementation of the device.
#include "engine/nn/layer.h"

#include "engine/core/error.h"

namespace ser::nn {

int64_t total_numel(const std::vector<ParamSpec>& specs) {
  int64_t n = 0;
  for (const auto& s : specs) n += s.shape.numel();
  return n;
}

template <typename T>
void Layer<T>::check_devices(Device a, Device b, const char* what) const {
  SER_CHECK(a == b, "layer {} ({}): {} are on different devices ({} and {})", name_, kind(), what, device_name(a),
            device_name(b));
}

template <typename T>
void Layer<T>::forward_cuda(const T*, T*, Mode) {
  SER_FAIL("layer {} ({}): no CUDA implementation for this element type (CUDA layers are float32)", name_, kind());
}

template <typename T>
void Layer<T>::backward_cuda(const T*, T*) {
  SER_FAIL("layer {} ({}): no CUDA implementation for this element type (CUDA layers are float32)", name_, kind());
}

template <typename T>
cuda::CudaContext& Layer<T>::cuda_context() const {
  SER_CHECK(cuda_ != nullptr, "layer {} ({}): a CUDA call needs set_cuda_context() first", name_, kind());
  return *cuda_;
}

template <typename T>
void Layer<T>::forward(View<const T> x, View<T> y, Mode mode) {
  check_devices(x.device, y.device, "forward input and output");
  const Shape expected = output_shape(x.shape);
  SER_CHECK(y.shape == expected, "layer {} ({}): output buffer has shape {}, expected {} for input {}", name_,
            kind(), y.shape.str(), expected.str(), x.shape.str());
  SER_CHECK(x.data != nullptr && y.data != nullptr, "layer {} ({}): null input or output buffer", name_, kind());
  SER_CHECK(parameter_specs().empty() || params_ != nullptr, "layer {} ({}): parameters not bound", name_, kind());
  input_shape_ = x.shape;
  x_ = x.data;
  mode_ = mode;
  device_ = x.device;
  has_forward_ = true;
  if (x.device == Device::CUDA)
    forward_cuda(x.data, y.data, mode);
  else
    forward_cpu(x.data, y.data, mode);
}

template <typename T>
void Layer<T>::backward(View<const T> dy, View<T> dx) {
  SER_CHECK(has_forward_, "layer {} ({}): backward called before forward", name_, kind());
  check_devices(dy.device, device_, "backward dy and the forward input");
  if (dx.data != nullptr) check_devices(dx.device, device_, "backward dx and the forward input");
  const Shape out = output_shape(input_shape_);
  SER_CHECK(dy.shape == out, "layer {} ({}): dy has shape {}, expected {}", name_, kind(), dy.shape.str(),
            out.str());
  SER_CHECK(dx.data == nullptr || dx.shape == input_shape_, "layer {} ({}): dx has shape {}, expected {}", name_,
            kind(), dx.shape.str(), input_shape_.str());
  SER_CHECK(dy.data != nullptr, "layer {} ({}): null dy", name_, kind());
  if (device_ == Device::CUDA)
    backward_cuda(dy.data, dx.data);
  else
    backward_cpu(dy.data, dx.data);
}

template class Layer<float>;
template class Layer<double>;

}  // namespace ser::nn

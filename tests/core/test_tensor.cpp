// Tensor, Shape, Generator: construction, views, copies, errors, reproducibility.
#include <doctest/doctest.h>

#include <set>

#include "engine/core/error.h"
#include "engine/core/random.h"
#include "engine/core/tensor.h"
#include "support/gpu.h"

using namespace ser;

TEST_SUITE("core") {

TEST_CASE("shape reports rank, extents and element count") {
  Shape s{16, 1, 128, 128};
  CHECK(s.rank() == 4);
  CHECK(s[0] == 16);
  CHECK(s[-1] == 128);
  CHECK(s.numel() == 16 * 128 * 128);
  CHECK(s.str() == "[16, 1, 128, 128]");
  CHECK(Shape{}.numel() == 1);
  CHECK(Shape{3, 0}.numel() == 0);
  CHECK_THROWS_AS(Shape({1, 2, 3, 4, 5}), Error);
  CHECK_THROWS_AS(Shape({2, -1}), Error);
  CHECK_THROWS_AS(s[4], Error);
}

TEST_CASE("a new tensor is zero-filled and owns its storage") {
  Tensor t(Shape{2, 3});
  CHECK(t.numel() == 6);
  CHECK(t.device() == Device::CPU);
  for (int i = 0; i < 6; ++i) CHECK(t[i] == 0.0f);
  CHECK(reinterpret_cast<uintptr_t>(t.data()) % 64 == 0);
}

TEST_CASE("copies share storage, clone and to() copy deeply") {
  Tensor a = Tensor::from_vector(Shape{2, 2}, {1, 2, 3, 4});
  Tensor shared = a;
  Tensor deep = a.clone();
  Tensor moved = a.to(Device::CPU);
  a[0] = 10;
  CHECK(shared[0] == 10);
  CHECK(deep[0] == 1);
  CHECK(moved[0] == 1);
}

TEST_CASE("reshape and slice are views with checked bounds") {
  Tensor a = Tensor::from_vector(Shape{2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor r = a.reshaped(Shape{3, 2});
  CHECK(r.shape() == Shape{3, 2});
  Tensor s = a.slice(2, Shape{2, 2});
  CHECK(s[0] == 2);
  s[3] = 50;
  CHECK(a[5] == 50);
  CHECK_THROWS_AS(a.reshaped(Shape{4, 2}), Error);
  CHECK_THROWS_AS(a.slice(3, Shape{4}), Error);
}

TEST_CASE("NCHW indexing matches the flat layout") {
  Tensor t(Shape{2, 3, 4, 5});
  t.at(1, 2, 3, 4) = 7;
  CHECK(t[((1 * 3 + 2) * 4 + 3) * 5 + 4] == 7);
}

TEST_CASE("copy_from checks element counts") {
  Tensor a(Shape{4}), b(Shape{5});
  CHECK_THROWS_WITH_AS(a.copy_from(b), doctest::Contains("5 elements"), Error);
}

TEST_CASE("parse_device names the devices and refuses others") {
  CHECK(parse_device("cpu") == Device::CPU);
  CHECK(parse_device("cuda") == Device::CUDA);
  CHECK_THROWS_WITH_AS(parse_device("tpu"), doctest::Contains("unknown device 'tpu'"), Error);
}

TEST_CASE("CUDA requests without a usable device give a clear error") {
  SER_SKIP_IF(cuda_device_available(), "a CUDA device is present (the gpu suite covers it)");
  CHECK_THROWS_AS(Tensor(Shape{4}, Device::CUDA), Error);
}

TEST_CASE("Philox matches the published known-answer vectors") {
  // Random123 kat_vectors: philox4x32_10, counter = key = 0, and counter/key all ones.
  Philox4x32 zero = philox4x32_10(0, 0, 0);
  CHECK(zero.v[0] == 0x6627e8d5u);
  CHECK(zero.v[1] == 0xe169c58du);
  CHECK(zero.v[2] == 0xbc57ac4cu);
  CHECK(zero.v[3] == 0x9b00dbd8u);
  Philox4x32 ones = philox4x32_10(~0ull, ~0ull, ~0ull);
  CHECK(ones.v[0] == 0x408f276du);
  CHECK(ones.v[1] == 0x41c83b0eu);
  CHECK(ones.v[2] == 0xa20bc7c6u);
  CHECK(ones.v[3] == 0x6d5451fdu);
  Philox4x32 pi = philox4x32_10(0x85a308d3243f6a88ull, 0x0370734413198a2eull, 0x299f31d0a4093822ull);
  CHECK(pi.v[0] == 0xd16cfe09u);
  CHECK(pi.v[1] == 0x94fdccebu);
  CHECK(pi.v[2] == 0x5001e420u);
  CHECK(pi.v[3] == 0x24126ea1u);
}

TEST_CASE("the generator is reproducible and its permutations are permutations") {
  Generator g1(7), g2(7), g3(8);
  std::vector<float> a(100), b(100), c(100);
  g1.fill_uniform(a.data(), 100, -1, 1);
  g2.fill_uniform(b.data(), 100, -1, 1);
  g3.fill_uniform(c.data(), 100, -1, 1);
  CHECK(a == b);
  CHECK(a != c);
  for (float x : a) CHECK((x >= -1 && x < 1));
  auto p = g1.permutation(1000);
  std::set<int64_t> seen(p.begin(), p.end());
  CHECK(seen.size() == 1000);
  CHECK(*seen.begin() == 0);
  CHECK(*seen.rbegin() == 999);
  CHECK(p != g3.permutation(1000));
}

}  // TEST_SUITE

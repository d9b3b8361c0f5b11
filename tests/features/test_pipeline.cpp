// The two-stage batch pipeline (features/pipeline.h) with fake CPU stages: the exact call
// schedule, output order, empty input, one batch, batch size 1, failures in each stage
// (rethrown after every submitted batch is collected), and — with a real worker thread as
// "stage 2" — that stage 1 of batch k+1 runs while stage 2 of batch k is still in progress,
// observed through a condition variable (a 10 s bound only turns a missing overlap into a
// failed CHECK instead of a hang; no timing is measured).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/error.h"
#include "features/pipeline.h"

using namespace ser;
using namespace ser::features;

namespace {

// Records every stage call as "P<k>", "S<k>", "C<k>"; optionally throws at one call.
struct Recorder {
  std::vector<std::string> log;
  std::string throw_at;  // e.g. "S1"
  PipelineStages stages() {
    auto stage = [this](char tag) {
      return [this, tag](const BatchRange& b) {
        const std::string call = tag + std::to_string(b.index);
        log.push_back(call);
        if (call == throw_at) throw std::runtime_error("fake failure at " + call);
      };
    };
    return {stage('P'), stage('S'), stage('C')};
  }
};

using Log = std::vector<std::string>;

}  // namespace

TEST_SUITE("features") {

TEST_CASE("pipeline: overlapped schedule keeps at most two batches in flight, collects in order") {
  Recorder r;
  run_two_stage_pipeline(10, 3, r.stages());  // batches [0,3) [3,6) [6,9) [9,10)
  CHECK(r.log == Log{"P0", "S0", "P1", "S1", "C0", "P2", "S2", "C1", "P3", "S3", "C2", "C3"});
}

TEST_CASE("pipeline: sequential schedule takes turns") {
  Recorder r;
  run_two_stage_pipeline(5, 2, r.stages(), PipelineSchedule::kSequential);
  CHECK(r.log == Log{"P0", "S0", "C0", "P1", "S1", "C1", "P2", "S2", "C2"});
}

TEST_CASE("pipeline: batch ranges cover every item once, in order; output order preserved") {
  for (std::size_t batch_size : {1, 2, 7, 100}) {
    INFO("batch size ", batch_size);
    const std::size_t items = 7;
    std::vector<int> input{5, -1, 8, 0, 3, 3, 12};
    std::vector<int> staged, output;
    std::vector<BatchRange> ranges;
    PipelineStages s;
    s.prepare = [&](const BatchRange& b) {
      ranges.push_back(b);
      for (std::size_t i = b.begin; i < b.end; ++i) staged.push_back(input[i] * 2);
    };
    s.submit = [](const BatchRange&) {};
    s.collect = [&](const BatchRange& b) {
      // Items of this batch are the oldest staged ones (collects are in batch order).
      for (std::size_t i = 0; i < b.size(); ++i) output.push_back(staged[b.begin + i] + 1);
    };
    run_two_stage_pipeline(items, batch_size, s);
    CHECK(output == std::vector<int>{11, -1, 17, 1, 7, 7, 25});
    REQUIRE(!ranges.empty());
    CHECK(ranges.front().begin == 0);
    CHECK(ranges.back().end == items);
    for (std::size_t k = 0; k < ranges.size(); ++k) {
      CHECK(ranges[k].index == k);
      CHECK(ranges[k].size() >= 1);
      CHECK(ranges[k].size() <= batch_size);
      if (k > 0) CHECK(ranges[k].begin == ranges[k - 1].end);
    }
    CHECK(ranges.size() == (items + batch_size - 1) / batch_size);
  }
}

TEST_CASE("pipeline: empty input calls no stage; one batch runs P S C") {
  Recorder empty;
  run_two_stage_pipeline(0, 4, empty.stages());
  CHECK(empty.log.empty());
  Recorder one;
  run_two_stage_pipeline(3, 4, one.stages());
  CHECK(one.log == Log{"P0", "S0", "C0"});
  Recorder single;
  run_two_stage_pipeline(1, 1, single.stages());
  CHECK(single.log == Log{"P0", "S0", "C0"});
}

TEST_CASE("pipeline: a failing stage stops new batches, in-flight ones are collected, error rethrown") {
  SUBCASE("prepare fails") {
    Recorder r;
    r.throw_at = "P2";
    CHECK_THROWS_WITH(run_two_stage_pipeline(10, 2, r.stages()), "fake failure at P2");
    CHECK(r.log == Log{"P0", "S0", "P1", "S1", "C0", "P2", "C1"});
  }
  SUBCASE("submit fails: that batch is not collected") {
    Recorder r;
    r.throw_at = "S1";
    CHECK_THROWS_WITH(run_two_stage_pipeline(10, 2, r.stages()), "fake failure at S1");
    CHECK(r.log == Log{"P0", "S0", "P1", "S1", "C0"});
  }
  SUBCASE("collect fails: the later in-flight batch is still collected, the first error wins") {
    Recorder r;
    r.throw_at = "C1";
    CHECK_THROWS_WITH(run_two_stage_pipeline(10, 2, r.stages()), "fake failure at C1");
    CHECK(r.log == Log{"P0", "S0", "P1", "S1", "C0", "P2", "S2", "C1", "C2"});
  }
  SUBCASE("bad arguments") {
    Recorder r;
    CHECK_THROWS_AS(run_two_stage_pipeline(3, 0, r.stages()), ser::Error);
    PipelineStages missing = r.stages();
    missing.collect = nullptr;
    CHECK_THROWS_AS(run_two_stage_pipeline(3, 1, missing), ser::Error);
    CHECK(r.log.empty());
  }
}

TEST_CASE("pipeline: stage 1 of batch k+1 runs while stage 2 of batch k is in progress") {
  // Stage 2 of batch k is a worker thread started by submit(k). It does not finish until it
  // has seen prepare(k+1) begin, so it is provably still running when stage 1 of k+1 starts;
  // a pipeline that waited for batch k before preparing k+1 would leave it waiting.
  constexpr std::size_t kBatches = 4;
  std::mutex m;
  std::condition_variable cv;
  std::vector<bool> prepare_started(kBatches, false);
  std::vector<bool> overlapped(kBatches, false);
  std::vector<std::atomic<bool>> stage2_done(kBatches);
  for (auto& d : stage2_done) d = false;
  std::vector<bool> stage2_running_at_next_prepare(kBatches, false);
  std::vector<std::thread> workers(kBatches);

  PipelineStages s;
  s.prepare = [&](const BatchRange& b) {
    if (b.index > 0) stage2_running_at_next_prepare[b.index - 1] = !stage2_done[b.index - 1];
    std::lock_guard<std::mutex> lock(m);
    prepare_started[b.index] = true;
    cv.notify_all();
  };
  s.submit = [&](const BatchRange& b) {
    workers[b.index] = std::thread([&, k = b.index] {
      if (k + 1 < kBatches) {
        std::unique_lock<std::mutex> lock(m);
        overlapped[k] = cv.wait_for(lock, std::chrono::seconds(10), [&] { return prepare_started[k + 1]; });
      }
      stage2_done[k] = true;
    });
  };
  s.collect = [&](const BatchRange& b) { workers[b.index].join(); };
  run_two_stage_pipeline(kBatches, 1, s);
  for (std::size_t k = 0; k + 1 < kBatches; ++k) {
    INFO("batch ", k);
    CHECK(overlapped[k]);
    CHECK(stage2_running_at_next_prepare[k]);
  }
  for (std::size_t k = 0; k < kBatches; ++k) CHECK(stage2_done[k]);
}

}  // TEST_SUITE

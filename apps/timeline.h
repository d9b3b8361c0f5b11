// The timeline of a recording longer than the model's clips: where its windows go, which
// of them are silence, and how consecutive windows merge into segments.
//
// Positions are sample indices of the recording at the feature rate (16 kHz). Window k
// covers [start, end) = [k * hop, k * hop + window) for every k whose window fits, plus one
// last window ending at the recording's end if the regular ones stop short of it. Each
// window is one image (as a training clip is) and speaks for its own stretch
// [own_begin, own_end): from the midpoint with the previous window's centre to the
// midpoint with the next one's (the first from 0, the last to the end), so the own
// stretches tile the recording, each about one hop long and centred on its window.
//
// Silence: a window is silent when the RMS level of its own stretch is more than
// `min_level_db` below the loudest own stretch of the same recording (or exactly zero).
// Judging the centre stretch, not the whole window, puts speech/silence boundaries within
// one hop of where the sound starts and stops.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ser::app {

struct TimelineWindow {
  int64_t start = 0, end = 0;          // samples the image is made of
  int64_t own_begin = 0, own_end = 0;  // stretch the window speaks for
};

// Number of regular windows (k * hop) for n samples: floor((n - window) / hop) + 1, 0 when
// n < window. window, hop >= 1.
int64_t regular_window_count(int64_t n, int64_t window, int64_t hop);

// Every window of a recording of n >= window samples, with their own stretches.
std::vector<TimelineWindow> plan_windows(int64_t n, int64_t window, int64_t hop);

// Sums of squared samples over consecutive blocks of `block` samples, fed in stream order:
// enough to measure any stretch's level later without keeping the samples (one double per
// block: 2.9 MB for an hour at 10 ms blocks).
class LevelMeter {
 public:
  explicit LevelMeter(int64_t block);
  void add(const float* samples, int64_t n);
  // RMS level in dB (full scale = 1.0) of [begin, end), to the block's resolution; -inf
  // for a stretch of zeros or of no blocks.
  double level_db(int64_t begin, int64_t end) const;
  int64_t samples() const { return samples_; }

 private:
  int64_t block_;
  int64_t samples_ = 0;
  std::vector<double> sums_;  // (blocks,) sum of squares, the last one maybe partial
};

// Silent flags (windows,) of the windows by their own stretches' levels (see above).
std::vector<bool> silent_windows(const std::vector<TimelineWindow>& windows, const LevelMeter& meter,
                                 double min_level_db);

// What each window's own stretch is labelled with, (windows, classes): the mean
// probabilities of every voiced window whose image overlaps the stretch (the window itself
// and, with a hop shorter than the window, its neighbours). A window at the edge of an
// utterance holds part silence, unlike any training clip, and alone it often names another
// emotion; averaged with the windows that see the utterance whole, it follows them. Rows
// of silent windows are left zero.
std::vector<float> stretch_probabilities(const std::vector<TimelineWindow>& windows, const std::vector<bool>& silent,
                                         const std::vector<float>& probabilities, int classes);

struct Segment {
  double start = 0, end = 0;              // seconds
  int label = -1;                         // class index; -1 = silence
  std::vector<float> mean_probabilities;  // (classes) over its windows; empty when silent
  int windows = 0;
};

// Merges consecutive windows of equal label (argmax of `probabilities`, normally
// stretch_probabilities(); silent windows form silent segments) over their own stretches.
// probabilities: (windows, classes) row-major; sample_rate converts positions to seconds.
std::vector<Segment> merge_segments(const std::vector<TimelineWindow>& windows, const std::vector<bool>& silent,
                                    const std::vector<float>& probabilities, int classes, int sample_rate);

// Index of the largest of n values (the first on ties).
int argmax(const float* values, int n);

}  // namespace ser::app

// Epoch orders (see sampling.h).
#include "engine/train/sampling.h"

#include "engine/core/error.h"

namespace ser::train {

Sampling parse_sampling(const std::string& text) {
  if (text == "shuffle") return Sampling::Shuffle;
  if (text == "balanced") return Sampling::Balanced;
  if (text == "corpus-balanced") return Sampling::CorpusBalanced;
  SER_FAIL("--sampling '{}': expected shuffle, balanced or corpus-balanced", text);
}

const char* sampling_name(Sampling sampling) {
  switch (sampling) {
    case Sampling::Balanced: return "balanced";
    case Sampling::CorpusBalanced: return "corpus-balanced";
    default: return "shuffle";
  }
}

namespace {

// Index in [0, n) from 32 random bits (multiply-shift, as Generator::permutation).
int64_t pick(uint32_t bits, int64_t n) {
  return static_cast<int64_t>((static_cast<uint64_t>(bits) * static_cast<uint64_t>(n)) >> 32);
}

std::vector<int64_t> balanced_order(Generator& generator, const std::vector<int32_t>& labels, int classes) {
  std::vector<std::vector<int64_t>> members(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    SER_CHECK(labels[i] >= 0 && labels[i] < classes, "balanced sampling: label {} at row {} is not in [0, {})",
              labels[i], i, classes);
    members[static_cast<std::size_t>(labels[i])].push_back(static_cast<int64_t>(i));
  }
  std::vector<const std::vector<int64_t>*> present;
  for (const auto& m : members)
    if (!m.empty()) present.push_back(&m);
  const uint64_t stream = generator.next_stream();
  std::vector<int64_t> order(labels.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    const Philox4x32 r = philox4x32_10(static_cast<uint64_t>(i), stream, generator.seed());
    const std::vector<int64_t>& rows = *present[static_cast<std::size_t>(pick(r.v[0], static_cast<int64_t>(present.size())))];
    order[i] = rows[static_cast<std::size_t>(pick(r.v[1], static_cast<int64_t>(rows.size())))];
  }
  return order;
}

}  // namespace

std::vector<int64_t> epoch_order(Generator& generator, Sampling sampling, const std::vector<int32_t>& labels,
                                 int classes, const std::vector<int32_t>& groups) {
  if (sampling == Sampling::Shuffle) return generator.permutation(static_cast<int64_t>(labels.size()));
  if (sampling == Sampling::Balanced || groups.empty()) return balanced_order(generator, labels, classes);
  SER_CHECK(groups.size() == labels.size(), "corpus-balanced sampling: {} corpus groups for {} labels", groups.size(),
            labels.size());
  // Strata (corpus, class) numbered corpus * classes + class, balanced like classes.
  std::vector<int32_t> strata(labels.size());
  int32_t corpora = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    SER_CHECK(groups[i] >= 0, "corpus-balanced sampling: corpus group {} at row {} is negative", groups[i], i);
    SER_CHECK(labels[i] >= 0 && labels[i] < classes, "balanced sampling: label {} at row {} is not in [0, {})",
              labels[i], i, classes);
    strata[i] = groups[i] * classes + labels[i];
    corpora = std::max(corpora, groups[i] + 1);
  }
  return balanced_order(generator, strata, corpora * classes);
}

}  // namespace ser::train

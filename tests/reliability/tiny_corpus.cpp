// See tiny_corpus.h.
#include "reliability/tiny_corpus.h"

#include "data/demo_corpus.h"

namespace ser::test {

std::filesystem::path make_tiny_corpus(const std::filesystem::path& dir, int speakers, int clips_per_class,
                                       double seconds) {
  data::DemoCorpusOptions opts;
  opts.speakers = speakers;
  opts.clips_per_class = clips_per_class;
  opts.seconds = seconds;
  data::generate_demo_corpus(dir, opts);
  return dir;
}

}  // namespace ser::test

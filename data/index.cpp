// index_corpora: folder walk -> name matching -> class filter -> duplicate removal.
// Duplicates are found cheaply: only files sharing a byte size are hashed (FNV-1a 64), and
// equal hashes are confirmed byte by byte before a file is dropped.
#include "data/index.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "data/audio_files.h"
#include "data/content_hash.h"
#include "data/name_schemes.h"
#include "engine/core/error.h"

namespace ser::data {
namespace {

namespace fs = std::filesystem;

CorpusCounts& counts_for(IndexSummary& summary, const std::string& corpus) {
  for (auto& c : summary.corpora)
    if (c.corpus == corpus) return c;
  summary.corpora.emplace_back();
  summary.corpora.back().corpus = corpus;
  return summary.corpora.back();
}

// Drops entries whose bytes equal an earlier entry's, updating counts and `skipped`.
void remove_duplicates(IndexResult& result) {
  std::unordered_map<uintmax_t, std::vector<std::size_t>> by_size;
  for (std::size_t i = 0; i < result.entries.size(); ++i) {
    std::error_code ec;
    const uintmax_t size = fs::file_size(result.entries[i].path, ec);
    SER_CHECK(!ec, "cannot read the size of '{}': {}", result.entries[i].path.string(), ec.message());
    by_size[size].push_back(i);
  }
  std::vector<bool> duplicate(result.entries.size(), false);
  std::vector<std::string> reason(result.entries.size());
  for (const auto& [size, group] : by_size) {
    if (group.size() < 2) continue;
    std::unordered_map<uint64_t, std::vector<std::size_t>> kept_by_hash;  // hash -> kept entries
    for (std::size_t i : group) {  // group is in entry order: the first copy is kept
      auto& kept = kept_by_hash[hash_file(result.entries[i].path)];
      for (std::size_t k : kept) {
        if (!files_equal(result.entries[k].path, result.entries[i].path)) continue;
        duplicate[i] = true;
        const auto& original = result.entries[k];
        std::error_code same_ec;
        reason[i] = fs::equivalent(original.path, result.entries[i].path, same_ec)
                        ? fmt::format("listed twice (overlapping data folders): '{}'", original.path.string())
                        : fmt::format("duplicate of '{}'", original.path.string());
        if (original.label != result.entries[i].label)
          reason[i] += fmt::format(" (labelled {} there, {} here)", original.label_name, result.entries[i].label_name);
        break;
      }
      if (!duplicate[i]) kept.push_back(i);
    }
  }
  std::vector<ManifestEntry> unique;
  for (std::size_t i = 0; i < result.entries.size(); ++i) {
    if (!duplicate[i]) {
      unique.push_back(std::move(result.entries[i]));
      continue;
    }
    result.skipped.emplace_back(result.entries[i].path, reason[i]);  // in entry order: deterministic
    CorpusCounts& counts = counts_for(result.summary, result.entries[i].corpus);
    --counts.used;
    ++counts.duplicates;
  }
  result.entries = std::move(unique);
}

}  // namespace

CorpusCounts IndexSummary::total() const {
  CorpusCounts sum;
  sum.corpus = "total";
  for (const auto& c : corpora) {
    sum.files_seen += c.files_seen;
    sum.used += c.used;
    sum.excluded += c.excluded;
    for (const auto& [label, n] : c.excluded_by_label) sum.excluded_by_label[label] += n;
    sum.rejected += c.rejected;
    sum.unmatched += c.unmatched;
    sum.duplicates += c.duplicates;
  }
  return sum;
}

std::string IndexSummary::table() const {
  auto excluded_text = [](const CorpusCounts& c) {
    std::string text;
    for (const auto& [label, n] : c.excluded_by_label) text += fmt::format("{}{} {}", text.empty() ? "" : ", ", label, n);
    return text.empty() ? std::string("-") : text;
  };
  auto row = [&](const CorpusCounts& c) {
    return fmt::format("{:<10} {:>7} {:>7} {:>9} {:>9} {:>10} {:>10}  {}\n", c.corpus, c.files_seen, c.used,
                       c.excluded, c.rejected, c.unmatched, c.duplicates, excluded_text(c));
  };
  std::string out = fmt::format("{:<10} {:>7} {:>7} {:>9} {:>9} {:>10} {:>10}  {}\n", "corpus", "seen", "used",
                                "excluded", "rejected", "unmatched", "duplicates", "excluded by class");
  for (const auto& c : corpora) out += row(c);
  out += row(total());
  out += "per class:";
  for (std::size_t i = 0; i < class_names.size() && i < used_per_class.size(); ++i)
    out += fmt::format(" {} {}", class_names[i], used_per_class[i]);
  return out + "\n";
}

IndexResult index_corpora(const std::vector<std::pair<fs::path, CorpusKind>>& folders, const ClassSet& classes,
                          bool detect_duplicates, const std::vector<ListedFile>& listed,
                          const SpeakerPattern* speakers) {
  SER_CHECK(!folders.empty() || !listed.empty(), "no data folder given");
  SER_CHECK(classes.size() >= 2, "the class set needs at least two classes, has {}", classes.size());
  IndexResult result;
  auto use = [&](CorpusCounts& counts, const fs::path& file, const std::string& corpus, const std::string& speaker,
                 const std::string& emotion, const std::string& split = "") {
    const int label = classes.index_of(emotion);
    if (label < 0) {
      ++counts.excluded;
      ++counts.excluded_by_label[emotion];
      return;
    }
    ++counts.used;
    result.entries.push_back({file, corpus, speaker, label, classes.names[static_cast<std::size_t>(label)], split});
  };
  for (const auto& [folder, kind] : folders) {
    if (kind == CorpusKind::Folders) {
      CorpusCounts& counts = counts_for(result.summary, "folders");
      for (const fs::path& file : list_audio_files(folder)) {
        ++counts.files_seen;
        std::string why;
        const auto l = folders_label(folder, file, why, speakers);
        if (!l) {
          ++counts.unmatched;
          result.skipped.emplace_back(file, why);
          continue;
        }
        use(counts, file, "folders", l->speaker, l->label);
      }
      continue;
    }
    for (const fs::path& file : list_audio_files(folder)) {
      const auto match = match_file_name(file, kind);
      const std::string corpus = match ? corpus_name(match->corpus) : kind == CorpusKind::Auto ? "unknown" : corpus_name(kind);
      CorpusCounts& counts = counts_for(result.summary, corpus);
      ++counts.files_seen;
      if (!match) {
        ++counts.unmatched;
        result.skipped.emplace_back(file, kind == CorpusKind::Auto
                                              ? std::string("file name matches no corpus scheme")
                                              : fmt::format("not a {} file name", corpus_name(kind)));
        continue;
      }
      if (!match->reject.empty()) {
        ++counts.rejected;
        result.skipped.emplace_back(file, match->reject);
        continue;
      }
      use(counts, file, corpus, match->speaker, match->emotion);
    }
  }
  if (!listed.empty()) {
    CorpusCounts& counts = counts_for(result.summary, "labels");
    for (const ListedFile& row : listed) {
      ++counts.files_seen;
      std::error_code ec;
      if (!fs::is_regular_file(row.path, ec)) {
        ++counts.rejected;
        result.skipped.emplace_back(row.path, "listed in --labels, but no such file");
        continue;
      }
      if (!has_audio_extension(row.path)) {
        ++counts.rejected;
        result.skipped.emplace_back(row.path, "listed in --labels, but not an audio file name");
        continue;
      }
      use(counts, row.path, "labels", row.speaker, row.label, row.split);
    }
  }
  if (detect_duplicates) remove_duplicates(result);
  result.summary.class_names = classes.names;
  result.summary.used_per_class.assign(classes.names.size(), 0);
  for (const auto& e : result.entries) ++result.summary.used_per_class[static_cast<std::size_t>(e.label)];
  return result;
}

std::string known_layouts() {
  return "the layouts ser reads: RAVDESS (Actor_NN/03-01-EE-...-NN.wav), SAVEE (DC/a01.wav or DC_a01.wav), TESS "
         "(OAF_angry/OAF_back_angry.wav), CREMA-D (1001_DFA_ANG_XX.wav), EMO-DB (03a01Fa.wav), renamed (RAVDESS names "
         "anywhere: --corpus renamed), a folder per class (DATA/angry/clip.wav or DATA/SPEAKER/angry/clip.wav: "
         "--corpus folders), or a label list (--labels FILE.csv with path,label[,speaker[,split]] rows)";
}

}  // namespace ser::data

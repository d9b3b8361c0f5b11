// What a --model option names, and `ser info MODEL`'s description of a model: what the
// model file holds (classes, network, feature parameters, normalisation, clip lengths) and,
// when the model lies in its run folder, what that folder adds (run.json's recipe and data,
// manifest.tsv's corpora, the figures of metrics.json and eval/metrics.json), with a note on
// the licences of the corpora the weights come from. The model file format is unchanged:
// nothing here writes.
#pragma once

#include <filesystem>
#include <string>

namespace ser::app {

// The model file a --model value names: a file as it is, or a folder's model.safetensors
// (a run folder of `ser train`). Throws one line naming the option (`name`) and the path
// when the path does not exist or the folder has no model (saying so when training there
// has not finished).
std::filesystem::path model_file_from_option(const std::filesystem::path& option, const std::string& name = "--model");

// The shipped default model (models/default.safetensors, scripts/train-default-model), for
// `ser predict` and `ser eval` without --model: $SER_MODEL when set (it must name a model
// file or run folder), else the first that exists of <ser's folder>/../share/ser/default.safetensors
// (an installed ser) and the source tree's models/default.safetensors (a build tree).
// Throws one line saying where it looked and what to do when none exists.
std::filesystem::path default_model_file();

// --model's value when given, else default_model_file() (with a line on stderr naming it).
std::filesystem::path model_or_default(const std::string& option, bool given);

// The lines `ser info MODEL` prints, each "name: value". Throws ser::Error for a path that
// is no model (as --model does); unreadable files of the run folder are said in their line.
std::string describe_model(const std::filesystem::path& option);

// The licence line for a model trained on the corpora named in `names` (its data folders,
// corpus kinds and speaker ids, as one text; matched by whole words, any case): weights of
// RAVDESS (CC BY-NC-SA 4.0) or TESS (CC BY-NC-ND 4.0) are for non-commercial use; for the
// others, and when nothing is known (`known` false), the line says to check the licences.
std::string licence_note(const std::string& names, bool known);

}  // namespace ser::app

// Which files count as audio, and the sorted walk of a folder for them. One list for the
// corpus indexers (`ser train`, `ser eval`, `ser features`) and for `ser predict DIR`:
// the containers libsndfile decodes (WAV, FLAC, OGG/Vorbis/Opus, AIFF, MP3, and a few
// others), recognised by extension, any case.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ser::data {

// The extensions (lower case, with the dot) recognised as audio: .wav .flac .ogg .oga
// .opus .aif .aiff .aifc .mp3 .au .snd .caf .w64 .rf64.
const std::vector<std::string>& audio_extensions();

// True when `file`'s extension (any case) is one of audio_extensions().
bool has_audio_extension(const std::filesystem::path& file);

// Every regular file with an audio extension under `folder` (recursive, following folder
// symlinks, skipping unreadable entries), sorted by path. Throws ser::Error naming the
// folder when it does not exist, is not a folder, or cannot be listed.
std::vector<std::filesystem::path> list_audio_files(const std::filesystem::path& folder);

}  // namespace ser::data

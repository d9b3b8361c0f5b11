// File-name matchers of every corpus, including the spelling and case variants found in
// circulating copies, and the emotion-word / class-set vocabulary.
#include <doctest/doctest.h>

#include "data/corpus.h"
#include "data/name_schemes.h"
#include "engine/core/error.h"

using namespace ser;
using namespace ser::data;

TEST_SUITE("data") {

TEST_CASE("names: RAVDESS native speech, song skipped, actor folder required in auto mode") {
  auto m = match_ravdess("Actor_07/03-01-05-02-01-02-07.wav", true);
  REQUIRE(m);
  CHECK(m->emotion == "angry");
  CHECK(m->speaker == "ravdess:Actor_07");
  CHECK(m->reject.empty());
  auto song = match_ravdess("Actor_07/03-02-03-01-01-01-07.wav", true);
  REQUIRE(song);
  CHECK(!song->reject.empty());
  CHECK_FALSE(match_ravdess("Actor_08/03-01-05-02-01-02-07.wav", true));  // folder and actor disagree
  CHECK_FALSE(match_ravdess("flat/03-01-05-02-01-02-07.wav", true));
  CHECK(match_ravdess("flat/03-01-05-02-01-02-07.wav", false));
  CHECK_FALSE(match_ravdess("Actor_07/03-01-09-02-01-02-07.wav", false));  // emotion 09 does not exist
  CHECK_FALSE(match_ravdess("Actor_07/03-01-05-02-01-02-07.mp4", false));
  CHECK(match_file_name("Actor_07/03-01-01-01-01-01-07.WAV", CorpusKind::Auto)->corpus == CorpusKind::Ravdess);
}

TEST_CASE("names: SAVEE flat and nested layouts") {
  auto flat = match_savee("SAVEE/ALL/JK_sa15.wav");
  REQUIRE(flat);
  CHECK(flat->emotion == "sad");
  CHECK(flat->speaker == "savee:JK");
  CHECK(match_savee("DC_su01.wav")->emotion == "surprised");
  CHECK(match_savee("kl_a03.wav")->emotion == "angry");
  CHECK(match_savee("DC_d02.wav")->emotion == "disgust");
  CHECK(match_savee("DC_f02.wav")->emotion == "fearful");
  CHECK(match_savee("DC_h02.wav")->emotion == "happy");
  CHECK(match_savee("DC_n30.wav")->emotion == "neutral");
  auto nested = match_savee("AudioData/DC/a01.wav");
  REQUIRE(nested);
  CHECK(nested->emotion == "angry");
  CHECK(nested->speaker == "savee:DC");
  CHECK_FALSE(match_savee("AudioData/XY/a01.wav"));  // unknown speaker folder
  CHECK_FALSE(match_savee("XY_a01.wav"));
  CHECK_FALSE(match_savee("DC_x01.wav"));
  CHECK(match_file_name("AudioData/JE/su12.wav", CorpusKind::Auto)->corpus == CorpusKind::Savee);
}

TEST_CASE("names: TESS spellings, case variants and folder fallbacks") {
  struct Case { const char* path; const char* emotion; const char* speaker; };
  const Case cases[] = {
      {"OAF_angry/OAF_back_angry.wav", "angry", "tess:OAF"},
      {"OAF_Fear/OAF_back_fear.wav", "fearful", "tess:OAF"},
      {"YAF_fear/YAF_dog_fearful.wav", "fearful", "tess:YAF"},
      {"OAF_Sad/OAF_bar_sad.wav", "sad", "tess:OAF"},
      {"OAF_Pleasant_surprise/OAF_bath_ps.wav", "surprised", "tess:OAF"},
      {"YAF_pleasant_surprised/YAF_bath_ps.wav", "surprised", "tess:YAF"},
      {"YAF_pleasant_surprised/YAF_bath_pleasant_surprise.wav", "surprised", "tess:YAF"},
      {"YAF_neutral/YAF_chalk_neutral.wav", "neutral", "tess:YAF"},
      {"yaf_Neutral/yaf_chalk_Neutral.wav", "neutral", "tess:YAF"},
      {"YAF_disgust/YAF_wire_disgust.wav", "disgust", "tess:YAF"},
      {"YAF_happy/YAF_wire_happy.WAV", "happy", "tess:YAF"},
      {"OAF_angry/OAF_back.wav", "angry", "tess:OAF"},  // emotion only in the folder name
      {"flat/OAF_back_angry.wav", "angry", "tess:OAF"},  // no emotion folder
  };
  for (const auto& c : cases) {
    CAPTURE(c.path);
    const auto m = match_file_name(c.path, CorpusKind::Auto);
    REQUIRE(m);
    CHECK(m->corpus == CorpusKind::Tess);
    CHECK(m->emotion == c.emotion);
    CHECK(m->speaker == c.speaker);
    CHECK(m->reject.empty());
  }
  const auto conflict = match_tess("OAF_Sad/OAF_back_happy.wav");
  REQUIRE(conflict);
  CHECK(conflict->reject.find("sad") != std::string::npos);
  CHECK_FALSE(match_tess("flat/OAF_back_bored.wav"));
  CHECK_FALSE(match_tess("flat/XAF_back_angry.wav"));
}

TEST_CASE("names: CREMA-D and the renamed scheme") {
  auto m = match_cremad("AudioWAV/1001_DFA_ANG_XX.wav");
  REQUIRE(m);
  CHECK(m->emotion == "angry");
  CHECK(m->speaker == "cremad:1001");
  CHECK(match_cremad("1091_IEO_fea_hi.wav")->emotion == "fearful");
  CHECK(match_cremad("1050_TIE_NEU_X.wav")->emotion == "neutral");
  CHECK(match_cremad("1050_TIE_DIS_LO.wav")->emotion == "disgust");
  CHECK(match_cremad("1050_TIE_HAP_MD.wav")->emotion == "happy");
  CHECK(match_cremad("1050_TIE_SAD_MD.wav")->emotion == "sad");
  CHECK_FALSE(match_cremad("1000_DFA_ANG_XX.wav"));  // actors are 1001..1091
  CHECK_FALSE(match_cremad("1092_DFA_ANG_XX.wav"));
  CHECK_FALSE(match_cremad("1001_DFA_BOR_XX.wav"));
  CHECK_FALSE(match_cremad("1001_DFA_ANG_ZZ.wav"));
  CHECK(match_file_name("1001_DFA_ANG_XX.wav", CorpusKind::Auto)->corpus == CorpusKind::CremaD);

  // Hand-renamed files outside Actor_NN folders: label = third field, speaker keeps the folder.
  auto r = match_file_name("TESS_renamed/03-01-04-01-01-01-26.wav", CorpusKind::Auto);
  REQUIRE(r);
  CHECK(r->corpus == CorpusKind::Renamed);
  CHECK(r->emotion == "sad");
  CHECK(r->speaker == "renamed:TESS_renamed:26");
  CHECK(match_renamed("x/03-01-08-01-01-01-1001.wav")->emotion == "surprised");
  CHECK_FALSE(match_renamed("x/03-01-00-01-01-01-01.wav"));
  CHECK_FALSE(match_file_name("notes/readme.wav", CorpusKind::Auto));
  // A stated kind uses only that scheme.
  CHECK_FALSE(match_file_name("1001_DFA_ANG_XX.wav", CorpusKind::Tess));
}

TEST_CASE("names: corpus kinds, emotion words and class sets") {
  CHECK(parse_corpus_kind("CREMA-D") == CorpusKind::CremaD);
  CHECK(parse_corpus_kind("Ravdess") == CorpusKind::Ravdess);
  CHECK(parse_corpus_kind("auto") == CorpusKind::Auto);
  CHECK(std::string(corpus_name(parse_corpus_kind("renamed"))) == "renamed");
  CHECK_THROWS_WITH_AS(parse_corpus_kind("iemocap"), doctest::Contains("emodb"), Error);
  CHECK(canonical_emotion("Pleasant_Surprised") == "surprised");
  CHECK(canonical_emotion("FEA") == "fearful");
  CHECK(canonical_emotion("bored").empty());

  const ClassSet six = ClassSet::six();
  CHECK(six.names == std::vector<std::string>{"neutral", "happy", "sad", "angry", "fearful", "disgust"});
  CHECK(six.index_of("fear") == 4);
  CHECK(six.index_of("calm") == -1);
  CHECK(six.index_of("surprised") == -1);
  const ClassSet eight = ClassSet::parse("8");
  CHECK(eight.size() == 8);
  CHECK(eight.index_of("ps") == 7);
  CHECK(eight.index_of("calm") == 6);
  CHECK(ClassSet::parse("6").names == six.names);
  CHECK(ClassSet::parse("Happy,sad,anger").names == std::vector<std::string>{"happy", "sad", "angry"});
  // A word that is no emotion is a class of the user's own (issue 21), kept lower-cased.
  CHECK(ClassSet::parse("happy,Bored").names == std::vector<std::string>{"happy", "bored"});
  CHECK_THROWS_AS(ClassSet::parse("happy,not bored"), Error);
  CHECK_THROWS_AS(ClassSet::parse("happy,happiness"), Error);
  CHECK_THROWS_AS(ClassSet::parse("happy"), Error);
}

}  // TEST_SUITE

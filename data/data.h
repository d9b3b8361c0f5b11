// Everything the trainer needs from ser_data in one include: corpus vocabulary, indexing,
// manifests, splits and the synthetic demo corpus.
#pragma once

#include "data/corpus.h"
#include "data/demo_corpus.h"
#include "data/index.h"
#include "data/manifest.h"
#include "data/split.h"

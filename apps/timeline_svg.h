// The picture of one recording's prediction (`ser predict --plot FILE.svg`): each class's
// probability over time (one <path class="series" data-class="NAME"> per class: the
// stretch probabilities the segments are made of, at window centres, broken across silent
// windows), silent stretches shaded, and below the chart the segments as a coloured band
// labelled with their emotion. Drawn by hand like
// the report's charts (apps/report.cpp), no plotting dependency.
#pragma once

#include <string>
#include <vector>

#include "apps/predict.h"

namespace ser::app {

// result must be ok(). The SVG is a complete document (UTF-8, 960 px wide).
std::string timeline_svg(const FilePrediction& result, const std::vector<std::string>& class_names);

// Distinct colours for class k (tab10), and the grey of silence.
const std::string& class_color(int k);

}  // namespace ser::app

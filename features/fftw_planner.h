// The one lock around FFTW's planner (plan creation and destruction), which is global and
// not thread-safe. Every FFTW plan in the project is made and destroyed under it; executing
// a plan (the new-array execute functions) needs no lock.
#pragma once

#include <mutex>

namespace ser::features {

std::mutex& fftw_planner_mutex();

}  // namespace ser::features

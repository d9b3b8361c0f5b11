// The process-wide FFTW planner lock (features/fftw_planner.h).
#include "features/fftw_planner.h"

namespace ser::features {

std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace ser::features

# CPU-side dependencies, all from Debian packages installed by scripts/install-deps.
# Each is found once here and exposed as an imported target.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET sndfile)   # audio decoding
pkg_check_modules(SOXR REQUIRED IMPORTED_TARGET soxr)         # resampling (librosa's soxr_hq)
pkg_check_modules(FFTW3 REQUIRED IMPORTED_TARGET fftw3)       # double-precision CPU FFT
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas) # CPU SGEMM/DGEMM
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
if(SER_BUILD_TESTS)
  find_package(doctest REQUIRED)
endif()
if(SER_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

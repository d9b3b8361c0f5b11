# Detects the CUDA toolkit without ever failing the configure step.
# Result: SER_WITH_CUDA (ON/OFF) and, when ON, the imported target ser::cudnn plus
# CUDA::cudart / CUDA::cublas / CUDA::cufft from FindCUDAToolkit.
#
# cuDNN is searched in, in order: CUDNN_ROOT (cache variable or environment), the
# toolkit's own folders, and the nvidia/cudnn folder of Python's site-packages (where
# PyTorch's NVIDIA wheels put headers and libcudnn.so.9 on GPU machines).
include(CheckLanguage)
set(SER_WITH_CUDA OFF)
if(SER_CUDA)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
    # 90 = Hopper (H100/H200), the GPUs this project targets. Override with
    # -DCMAKE_CUDA_ARCHITECTURES=... (e.g. "80;90" or "native").
    set(CMAKE_CUDA_ARCHITECTURES 90 CACHE STRING "CUDA architectures")
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit)
    include(FindCUDNN)
    if(CUDAToolkit_FOUND AND CUDNN_FOUND)
      set(SER_WITH_CUDA ON)
      set(CMAKE_CUDA_STANDARD 17)
      set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    else()
      message(WARNING "ser: CUDA compiler found but toolkit libraries or cuDNN missing "
                      "(set CUDNN_ROOT); building the CPU-only backend")
    endif()
  else()
    message(STATUS "ser: no CUDA compiler found; building the CPU-only backend")
  endif()
endif()

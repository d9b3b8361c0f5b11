# Finds cuDNN 9 (header cudnn.h + libcudnn.so.9) and defines the imported target ser::cudnn.
# Hints: CUDNN_ROOT (CMake or environment), the CUDA toolkit, Python's nvidia/cudnn wheel.
set(_cudnn_hints ${CUDNN_ROOT} $ENV{CUDNN_ROOT})
if(CUDAToolkit_LIBRARY_ROOT)
  list(APPEND _cudnn_hints ${CUDAToolkit_LIBRARY_ROOT})
endif()
if(CUDAToolkit_INCLUDE_DIRS)
  foreach(dir ${CUDAToolkit_INCLUDE_DIRS})
    get_filename_component(parent ${dir} DIRECTORY)
    list(APPEND _cudnn_hints ${parent})
  endforeach()
endif()
find_program(_ser_python NAMES python3 python)
if(_ser_python)
  execute_process(
    COMMAND ${_ser_python} -c "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__) if nvidia.cudnn.__file__ else list(nvidia.cudnn.__path__)[0])"
    OUTPUT_VARIABLE _cudnn_wheel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_cudnn_wheel)
    list(APPEND _cudnn_hints ${_cudnn_wheel})
  endif()
endif()

find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${_cudnn_hints}
          PATH_SUFFIXES include targets/x86_64-linux/include)
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 HINTS ${_cudnn_hints}
             PATH_SUFFIXES lib lib64 targets/x86_64-linux/lib)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUDNN REQUIRED_VARS CUDNN_LIBRARY CUDNN_INCLUDE_DIR)
if(CUDNN_FOUND AND NOT TARGET ser::cudnn)
  add_library(ser::cudnn UNKNOWN IMPORTED)
  set_target_properties(ser::cudnn PROPERTIES
    IMPORTED_LOCATION ${CUDNN_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${CUDNN_INCLUDE_DIR})
endif()

# Whether to build the Python extension module ser._ser (python/CMakeLists.txt), with nanobind.
#   SER_PYTHON=AUTO (default)  when a Python interpreter with nanobind and its headers is found,
#                              else off, saying why in the configure output. The interpreter
#                              looked at: Python_EXECUTABLE when given, else the repo's .venv
#                              (scripts/python-env makes it), else the system's.
#   SER_PYTHON=ON              required: configure fails, saying why, without one (pyproject.toml)
#   SER_PYTHON=OFF             never (scripts/check-sanitizers: a sanitized core cannot be loaded
#                              into an uninstrumented interpreter)
# Result: SER_WITH_PYTHON (and SER_PYTHON_WHY_NOT, the reason when OFF), and with it
# CMAKE_POSITION_INDEPENDENT_CODE ON: the static libraries go into a shared module, so this
# runs before any target is made.
set(SER_PYTHON AUTO CACHE STRING "Build the Python module ser._ser: AUTO (when Python with nanobind is found), ON, OFF")
set_property(CACHE SER_PYTHON PROPERTY STRINGS AUTO ON OFF)
set(SER_WITH_PYTHON OFF)
set(SER_PYTHON_WHY_NOT "")

macro(ser_python_unavailable why)
  if(SER_PYTHON STREQUAL "ON")
    message(FATAL_ERROR "ser: SER_PYTHON=ON but ${why}")
  endif()
  set(SER_PYTHON_WHY_NOT "${why}")
  message(STATUS "ser: Python package not built: ${why}")
  return()
endmacro()

if(SER_PYTHON STREQUAL "OFF")
  ser_python_unavailable("SER_PYTHON=OFF")
endif()
if(NOT SER_PYTHON MATCHES "^(AUTO|ON)$")
  message(FATAL_ERROR "ser: SER_PYTHON must be AUTO, ON or OFF, got '${SER_PYTHON}'")
endif()
if(NOT DEFINED Python_EXECUTABLE AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/.venv/bin/python)
  set(Python_EXECUTABLE ${CMAKE_CURRENT_SOURCE_DIR}/.venv/bin/python)
endif()
find_package(Python 3.8 COMPONENTS Interpreter Development.Module QUIET)
if(NOT Python_FOUND)
  ser_python_unavailable("no Python 3 interpreter with its headers found (Debian: python3-dev; scripts/install-deps)")
endif()
execute_process(COMMAND ${Python_EXECUTABLE} -m nanobind --cmake_dir
                OUTPUT_VARIABLE SER_NANOBIND_DIR OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE SER_NANOBIND_RC ERROR_QUIET)
if(NOT SER_NANOBIND_RC EQUAL 0)
  ser_python_unavailable("${Python_EXECUTABLE} has no nanobind (bash scripts/python-env makes .venv with it)")
endif()
find_package(nanobind CONFIG QUIET PATHS ${SER_NANOBIND_DIR} NO_DEFAULT_PATH)
if(NOT nanobind_FOUND)
  ser_python_unavailable("nanobind's CMake files not found in ${SER_NANOBIND_DIR}")
endif()
set(SER_WITH_PYTHON ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
message(STATUS "ser: Python package ser._ser built with ${Python_EXECUTABLE} (Python ${Python_VERSION}, nanobind ${nanobind_VERSION})")

// ser::PathNotFound: the ser::Error of a path the user named (an option's file or folder)
// that does not exist. The command line prints it as any other error; the Python module
// (python/ser_module.cpp) raises it as FileNotFoundError with the same message and the path
// as its filename. SER_CHECK_FOUND throws it; the message names the path, so it carries no
// source location.
#pragma once

#include <string>
#include <utility>

#include "engine/core/error.h"

namespace ser {

class PathNotFound : public Error {
 public:
  PathNotFound(const std::string& message, std::string path) : Error(message), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace ser

// SER_CHECK_FOUND(cond, path, "format {}", args...): throws ser::PathNotFound(message, path) if !cond.
#define SER_CHECK_FOUND(cond, path, ...)                                   \
  do {                                                                     \
    if (!(cond)) throw ::ser::PathNotFound(fmt::format(__VA_ARGS__), path); \
  } while (0)

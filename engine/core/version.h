// The program's version, from CMake's project(VERSION) (engine/CMakeLists.txt passes it
// as SER_VERSION): printed by --version and `ser info`, stored in every model file.
#pragma once

namespace ser {

inline constexpr const char* kVersion = SER_VERSION;

}  // namespace ser

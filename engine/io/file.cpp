// File reading with limits and atomic replacement via rename(2) of a temp file named
// "<path>.tmp.<pid>.<counter>" (unique per process and per call, so per thread too).
#include "engine/io/file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "engine/core/error.h"

namespace ser {

std::vector<unsigned char> read_file_bytes(const std::filesystem::path& path, std::size_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  SER_CHECK(!ec && std::filesystem::exists(status), "{}: no such file", path.string());
  SER_CHECK(std::filesystem::is_regular_file(status), "{}: not a regular file", path.string());
  const auto size = std::filesystem::file_size(path, ec);
  SER_CHECK(!ec, "{}: cannot read its size: {}", path.string(), ec.message());
  SER_CHECK(size <= max_bytes, "{}: file is {} bytes, more than the {} allowed", path.string(), size, max_bytes);
  std::ifstream in(path, std::ios::binary);
  SER_CHECK(in.good(), "{}: cannot open: {}", path.string(), std::strerror(errno));
  std::vector<unsigned char> bytes(size);
  if (size) in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  SER_CHECK(static_cast<std::size_t>(in.gcount()) == size, "{}: short read ({} of {} bytes)", path.string(),
            in.gcount(), size);
  return bytes;
}

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// The pid in a temp file name "<name>.tmp.<pid>" (the older form) or
// "<name>.tmp.<pid>.<counter>"; -1 for any other name.
long temp_file_pid(const std::string& name) {
  const std::size_t tag = name.rfind(".tmp.");
  if (tag == std::string::npos) return -1;
  const std::string rest = name.substr(tag + 5);  // "<pid>" or "<pid>.<counter>"
  const std::size_t dot = rest.find('.');
  const std::string pid = rest.substr(0, dot);
  if (!all_digits(pid) || pid.size() > 9) return -1;
  if (dot != std::string::npos && (!all_digits(rest.substr(dot + 1)) || rest.size() - dot - 1 > 20)) return -1;
  return std::stol(pid);
}

}  // namespace

// "<path>.tmp.<pid>.<n>": n counts the temp files of this process, so two threads writing
// the same path (or a thread re-entering after a failure) never share one temp file.
std::filesystem::path unique_temp_name(const std::filesystem::path& path) {
  static std::atomic<uint64_t> counter{0};
  return path.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
}

void write_file_atomically(const std::filesystem::path& path, const void* data, std::size_t size) {
  const std::filesystem::path tmp = unique_temp_name(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SER_CHECK(fd >= 0, "{}: cannot create {}: {}", path.string(), tmp.string(), std::strerror(errno));
  const char* p = static_cast<const char*>(data);
  std::size_t left = size;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      SER_FAIL("{}: write failed ({}); the previous file, if any, is unchanged", path.string(), std::strerror(err));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_err = errno;
  const bool closed = ::close(fd) == 0;  // always closed, even when fsync failed
  if (!synced || !closed) {
    const int err = synced ? errno : sync_err;
    ::unlink(tmp.c_str());
    SER_FAIL("{}: flushing to disk failed ({}); the previous file, if any, is unchanged", path.string(),
             std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    SER_FAIL("{}: cannot replace the file ({}); the previous file, if any, is unchanged", path.string(),
             std::strerror(err));
  }
}

int remove_stale_temp_files(const std::filesystem::path& dir) {
  int removed = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const long parsed = temp_file_pid(it->path().filename().string());
    if (parsed <= 0) continue;
    const pid_t pid = static_cast<pid_t>(parsed);
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // still running (or unknown)
    std::error_code rm;
    if (std::filesystem::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

}  // namespace ser

// File reading with limits and atomic replacement via rename(2).
#include "engine/io/file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
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

void write_file_atomically(const std::filesystem::path& path, const void* data, std::size_t size) {
  const std::filesystem::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
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
    const std::string name = it->path().filename().string();
    const std::size_t tag = name.rfind(".tmp.");
    if (tag == std::string::npos || tag + 5 == name.size()) continue;
    const std::string digits = name.substr(tag + 5);
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // still running (or unknown)
    std::error_code rm;
    if (std::filesystem::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

}  // namespace ser

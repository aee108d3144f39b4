#include "tensorplan/perf/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include "tensorplan/common/error.h"
#include "tensorplan/common/timer.h"

namespace tensorplan::perf {

namespace {

// Frames: 4-byte little-endian length, then the message as CBOR.
void write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      _exit(4);  // the parent is gone: nothing useful left to do
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void send_message(int fd, const Json& message) {
  const std::vector<std::uint8_t> bytes = Json::to_cbor(message);
  const std::uint32_t size = static_cast<std::uint32_t>(bytes.size());
  std::uint8_t header[4] = {static_cast<std::uint8_t>(size), static_cast<std::uint8_t>(size >> 8),
                            static_cast<std::uint8_t>(size >> 16),
                            static_cast<std::uint8_t>(size >> 24)};
  write_all(fd, header, 4);
  write_all(fd, bytes.data(), bytes.size());
}

[[noreturn]] void child_main(int fd, int err_fd,
                             const std::function<void(const MessageSink&)>& body,
                             [[maybe_unused]] unsigned long long memory_cap_bytes) {
  // A fault in JIT code is a crash of the sample, whatever handlers the parent installed (ASan's
  // SEGV handler would turn it into an exit code): restore the default actions.
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::signal(sig, SIG_DFL);
  // An interrupt ends the child at once, whatever the parent does with it (perf tune catches it
  // to report what it has timed so far).
  for (int sig : {SIGINT, SIGTERM}) ::signal(sig, SIG_DFL);
  ::dup2(err_fd, STDERR_FILENO);
  const int null_fd = ::open("/dev/null", O_WRONLY);
  if (null_fd >= 0) ::dup2(null_fd, STDOUT_FILENO);
#if !defined(__SANITIZE_ADDRESS__)
  struct rlimit limit = {memory_cap_bytes, memory_cap_bytes};
  ::setrlimit(RLIMIT_AS, &limit);
#endif
  int code = 0;
  try {
    body([fd](const Json& message) { send_message(fd, message); });
  } catch (const std::bad_alloc&) {
    send_message(fd, Json{{"type", "error"}, {"message", "out of memory (std::bad_alloc)"}});
    code = 3;
  } catch (const std::exception& e) {
    send_message(fd, Json{{"type", "error"}, {"message", e.what()}});
    code = 3;
  } catch (...) {
    send_message(fd, Json{{"type", "error"}, {"message", "unknown exception"}});
    code = 3;
  }
  std::fflush(stderr);
  _exit(code);  // skip the parent's atexit handlers and static destructors
}

// Running out of memory under the cap shows as an allocation failure, in one of the ways the
// child's libraries report it (C++, Halide's runtime, LLVM, the C library).
[[maybe_unused]] bool ran_out_of_memory(const std::string& detail, const std::string& stderr_tail) {
  for (const std::string* text : {&detail, &stderr_tail}) {
    for (const char* sign :
         {"bad_alloc", "Out of memory", "out of memory", "Cannot allocate memory"})
      if (text->find(sign) != std::string::npos) return true;
  }
  return false;
}

std::string read_tail(int fd, std::size_t max_bytes) {
  const off_t end = ::lseek(fd, 0, SEEK_END);
  if (end <= 0) return "";
  const off_t start = end > static_cast<off_t>(max_bytes) ? end - static_cast<off_t>(max_bytes) : 0;
  std::string text(static_cast<std::size_t>(end - start), '\0');
  const ssize_t n = ::pread(fd, text.data(), text.size(), start);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return text;
}

}  // namespace

std::string memory_cap_text(unsigned long long bytes) {
  return fmt::format("{:g} GiB", static_cast<double>(bytes) / (1ULL << 30));
}

ChildOutcome run_in_child(const std::function<void(const MessageSink&)>& body,
                          const std::map<std::string, double>& timeout_after,
                          double default_timeout, unsigned long long memory_cap_bytes) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail("cannot create a pipe: {}", std::strerror(errno));
  const int err_fd = ::memfd_create("tensorplan-child-stderr", MFD_CLOEXEC);
  if (err_fd < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    fail("cannot create a memfd: {}", std::strerror(errno));
  }
  std::fflush(stdout);
  std::fflush(stderr);
  Stopwatch clock;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    ::close(err_fd);
    fail("cannot fork: {}", std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_main(fds[1], err_fd, body, memory_cap_bytes);
  }
  ::close(fds[1]);

  ChildOutcome outcome;
  outcome.phase = "start";
  const auto limit_for = [&](const std::string& phase) {
    const auto it = timeout_after.find(phase);
    return it == timeout_after.end() ? default_timeout : it->second;
  };
  double phase_start = clock.seconds();
  double limit = limit_for(outcome.phase);
  std::vector<std::uint8_t> buffer;
  bool timed_out = false;
  for (;;) {
    const double remaining = phase_start + limit - clock.seconds();
    if (remaining <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p = {fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min(remaining, 1.0) * 1000) + 1);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    std::uint8_t chunk[65536];
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child exited (or closed the pipe)
    buffer.insert(buffer.end(), chunk, chunk + n);
    // Decode every complete frame.
    std::size_t pos = 0;
    while (buffer.size() - pos >= 4) {
      const std::uint32_t size = buffer[pos] | (buffer[pos + 1] << 8) | (buffer[pos + 2] << 16) |
                                 (static_cast<std::uint32_t>(buffer[pos + 3]) << 24);
      if (buffer.size() - pos - 4 < size) break;
      Json message = Json::from_cbor(buffer.begin() + static_cast<std::ptrdiff_t>(pos + 4),
                                     buffer.begin() + static_cast<std::ptrdiff_t>(pos + 4 + size),
                                     true, false);
      pos += 4 + size;
      if (message.is_discarded() || !message.is_object()) continue;
      outcome.phase = message.value("type", "message");
      outcome.messages.push_back(std::move(message));
      phase_start = clock.seconds();
      limit = limit_for(outcome.phase);
    }
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(pos));
  }
  if (timed_out) ::kill(pid, SIGKILL);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  outcome.wall_seconds = clock.seconds();
  outcome.stderr_tail = read_tail(err_fd, 2000);
  ::close(err_fd);

  if (timed_out) {
    outcome.status = "timeout";
    outcome.detail = fmt::format("no progress for {:.0f} s after {}", limit, outcome.phase);
  } else if (WIFSIGNALED(status)) {
    outcome.status = "crashed";
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    outcome.detail = name ? fmt::format("SIG{}", name) : fmt::format("signal {}", WTERMSIG(status));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    outcome.status = "ok";
  } else {
    outcome.status = "error";
    outcome.detail = fmt::format("exit code {}", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    for (const Json& m : outcome.messages) {
      if (m.value("type", "") == "error") outcome.detail = m.value("message", outcome.detail);
    }
  }
#if !defined(__SANITIZE_ADDRESS__)
  if (outcome.status != "ok" && outcome.status != "timeout" &&
      ran_out_of_memory(outcome.detail, outcome.stderr_tail)) {
    outcome.detail = fmt::format("ran out of memory under the child's cap of {}: {}",
                                 memory_cap_text(memory_cap_bytes), outcome.detail);
  }
#endif
  return outcome;
}

}  // namespace tensorplan::perf

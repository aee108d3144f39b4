// Samples run isolated: a crash, a hang or an exception in the child becomes a status.
#include "tensorplan/perf/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace tensorplan::perf {
namespace {

TEST(Subprocess, CollectsMessagesInOrder) {
  const ChildOutcome out = run_in_child(
      [](const MessageSink& send) {
        send({{"type", "graph"}, {"n", 1}});
        send({{"type", "timing"}, {"n", 2}, {"blob", Json::binary({1, 2, 3})}});
      },
      {}, 30);
  EXPECT_EQ(out.status, "ok");
  ASSERT_EQ(out.messages.size(), 2u);
  EXPECT_EQ(out.messages[1].at("n"), 2);
  EXPECT_EQ(out.messages[1].at("blob").get_binary().size(), 3u);
  EXPECT_EQ(out.phase, "timing");
}

TEST(Subprocess, ReportsCrashesErrorsAndTimeouts) {
  const ChildOutcome crash = run_in_child(
      [](const MessageSink& send) {
        send({{"type", "graph"}});
        ::raise(SIGSEGV);
      },
      {}, 30);
  EXPECT_EQ(crash.status, "crashed");
  EXPECT_EQ(crash.detail, "SIGSEGV");
  EXPECT_EQ(crash.phase, "graph");

  const ChildOutcome error =
      run_in_child([](const MessageSink&) { throw std::runtime_error("no schedule"); }, {}, 30);
  EXPECT_EQ(error.status, "error");
  EXPECT_EQ(error.detail, "no schedule");

  const ChildOutcome hang = run_in_child(
      [](const MessageSink& send) {
        send({{"type", "compiled"}});
        for (;;) ::pause();
      },
      {{"compiled", 0.3}}, 30);
  EXPECT_EQ(hang.status, "timeout");
  EXPECT_EQ(hang.phase, "compiled");
  EXPECT_LT(hang.wall_seconds, 10);
}

// A child that needs more memory than its cap is told apart from one that failed otherwise.
TEST(Subprocess, SaysWhenTheChildRanOutOfMemoryUnderItsCap) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "no memory cap under AddressSanitizer";
#endif
  const ChildOutcome out = run_in_child(
      [](const MessageSink& send) {
        send({{"type", "compiled"}});
        std::vector<char> big(kChildMemoryCapBytes + (1ULL << 30));
        std::memset(big.data(), 1, 4096);
      },
      {}, 30);
  EXPECT_EQ(out.status, "error");
  EXPECT_NE(out.detail.find("ran out of memory under the child's cap of 8 GiB"), std::string::npos)
      << out.detail;
  // Other failures do not claim it.
  const ChildOutcome error =
      run_in_child([](const MessageSink&) { throw std::runtime_error("no schedule"); }, {}, 30);
  EXPECT_EQ(error.detail.find("memory"), std::string::npos) << error.detail;
}

// The cap is the caller's: what fails under 1 GiB runs under 3, and the message names the cap.
TEST(Subprocess, TakesTheMemoryCapItIsGiven) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "no memory cap under AddressSanitizer";
#endif
  const auto allocate_1_5_gib = [](const MessageSink& send) {
    // 1.5 GiB of address space, only its first page touched (a vector would fill it all).
    std::unique_ptr<char[]> big(new char[3ULL << 29]);
    std::memset(big.get(), 1, 4096);
    send({{"type", "done"}});
  };
  const ChildOutcome small = run_in_child(allocate_1_5_gib, {}, 30, 1ULL << 30);
  EXPECT_EQ(small.status, "error");
  EXPECT_NE(small.detail.find("ran out of memory under the child's cap of 1 GiB"),
            std::string::npos)
      << small.detail;
  const ChildOutcome large = run_in_child(allocate_1_5_gib, {}, 30, 3ULL << 30);
  EXPECT_EQ(large.status, "ok") << large.detail;
  EXPECT_EQ(memory_cap_text(3ULL << 29), "1.5 GiB");
}

// An interrupt (Ctrl-C reaches the whole process group) ends the child even when the parent
// catches it to report what it has so far.
TEST(Subprocess, AnInterruptEndsTheChild) {
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction before = {};
  ::sigaction(SIGINT, &ignore, &before);
  const ChildOutcome out = run_in_child(
      [](const MessageSink& send) {
        send({{"type", "compiled"}});
        ::raise(SIGINT);
        for (;;) ::pause();
      },
      {}, 30);
  ::sigaction(SIGINT, &before, nullptr);
  EXPECT_EQ(out.status, "crashed");
  EXPECT_EQ(out.detail, "SIGINT");
  EXPECT_LT(out.wall_seconds, 10);
}

}  // namespace
}  // namespace tensorplan::perf

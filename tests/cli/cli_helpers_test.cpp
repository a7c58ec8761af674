// The shared CLI helpers: the progress bar, the Ctrl-C guard and usage-error reporting.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>

#include "cli/interrupt.h"
#include "cli/progress_bar.h"
#include "cli/table.h"
#include "testutil/testutil.h"

namespace qmix::cli {
namespace {

TEST(TextTable, PadsColumnsAndAlignsNumbers) {
  TextTable t({{"type"}, {"n", Align::kRight}});
  t.add_row({"Q4_K", "7"});
  t.add_row({"F32×2", "123"});
  t.add_separator();
  t.add_row({"total", "130"});
  EXPECT_EQ(t.render(),
            "type     n\n"
            "----------\n"
            "Q4_K     7\n"
            "F32×2  123\n"  // "×" is one cell wide
            "----------\n"
            "total  130\n");
}

TEST(ProgressLine, ShowsFractionAmountAndLabel) {
  const std::string line =
      format_progress_line("quantize", 1, 4, "blk.0.ffn_up.weight", ProgressUnit::kCount, 0.0, 8);
  EXPECT_EQ(line, "quantize [##      ]  25%  1/4  blk.0.ffn_up.weight");
}

TEST(ProgressLine, BytesUseBinaryUnitsAndEta) {
  const std::string line = format_progress_line("write", uint64_t{3} << 30, uint64_t{4} << 30, "",
                                                ProgressUnit::kBytes, 30.0, 4);
  EXPECT_EQ(line, "write [### ]  75%  3.0/4.0 GiB  eta 0:10");
}

TEST(ProgressLine, EmptyTotalIsZeroPercent) {
  EXPECT_EQ(format_progress_line("x", 0, 0, "", ProgressUnit::kCount, 5.0, 2), "x [  ]   0%  0/0");
}

TEST(ProgressBar, SilentWhenStreamIsNotATty) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressBar bar("t", ProgressUnit::kCount, ProgressDraw::kAuto, f);
    EXPECT_FALSE(bar.enabled());
    bar.update(1, 2, "a");
    bar.update(2, 2, "b");
  }
  EXPECT_EQ(std::ftell(f), 0);
  std::fclose(f);
}

TEST(ProgressBar, DrawsFinalStateAndClearsOnFinish) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressBar bar("t", ProgressUnit::kCount, ProgressDraw::kAlways, f);
    bar.update(1, 2, "a");
    bar.update(2, 2, "b");  // the final state is drawn even inside the redraw interval
    bar.finish();
  }
  std::rewind(f);
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const std::string s(buf, n);
  EXPECT_NE(s.find("100%  2/2  b"), std::string::npos) << s;
  EXPECT_TRUE(s.ends_with("\r\x1b[K")) << s;
}

TEST(InterruptGuard, FirstSignalSetsTheTokenAndHandlersAreRestored) {
  struct sigaction before {};
  sigaction(SIGINT, nullptr, &before);
  {
    InterruptGuard guard;
    EXPECT_FALSE(guard.interrupted());
    std::raise(SIGINT);
    EXPECT_TRUE(guard.interrupted());
    EXPECT_TRUE(guard.token().cancelled());
  }
  struct sigaction after {};
  sigaction(SIGINT, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
}

TEST(InterruptGuardDeathTest, SecondSignalKills) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        InterruptGuard guard;
        std::raise(SIGINT);
        std::raise(SIGINT);
      },
      testing::KilledBySignal(SIGINT), "interrupted");
}

struct UsageCase {
  const char* args;
  const char* needle;
};

TEST(CliUsage, UsageErrorsAreOneLineAndExitOne) {
  const UsageCase cases[] = {
      {"synth --no-such-option -o x.gguf", "--no-such-option"},
      {"", "subcommand"},
      {"raw quantize --type", "--type"},
      {"synth --layers notanumber -o x.gguf", "notanumber"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    const auto r = test::run_command(test::qmix_binary().string() + " " + c.args);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(r.err.starts_with("qmix: error: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST(CliUsage, HelpAndVersionExitZero) {
  for (const char* args : {"--help", "--version", "raw --help"}) {
    SCOPED_TRACE(args);
    const auto r = test::run_command(test::qmix_binary().string() + " " + args);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_FALSE(r.out.empty());
    EXPECT_TRUE(r.err.empty()) << r.err;
  }
}

}  // namespace
}  // namespace qmix::cli

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>

#include "core/atomic_file.h"
#include "core/checked.h"
#include "core/mapped_file.h"
#include "core/thread_pool.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

Expected<int> parse_positive(int x) {
  if (x <= 0) return make_error(ErrorCode::kInvalidArgument, "not positive: {}", x);
  return x;
}

Expected<int> twice(int x) {
  QMIX_TRY_ASSIGN(int v, parse_positive(x));
  return 2 * v;
}

TEST(Expected, PropagatesErrorsAndValues) {
  EXPECT_EQ(*twice(4), 8);
  auto e = twice(-1);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.error().with_context("f.gguf").message, "f.gguf: not positive: -1");
}

TEST(Checked, DetectsOverflow) {
  EXPECT_FALSE(checked_mul(UINT64_MAX / 2, 3).has_value());
  EXPECT_EQ(*checked_mul(1 << 20, 1 << 20), uint64_t{1} << 40);
  EXPECT_FALSE(checked_add(UINT64_MAX, 1).has_value());
  EXPECT_EQ(align_up(33, 32), 64u);
}

TEST(MappedFile, MissingFileIsNotFound) {
  auto f = MappedFile::open("/nonexistent/qmix/file.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, ErrorCode::kNotFound);
  EXPECT_NE(f.error().message.find("/nonexistent/qmix/file.gguf"), std::string::npos);
}

TEST(AtomicFile, CommitRenamesAndAbandonLeavesNothing) {
  test::TempDir dir;
  const auto target = dir / "out.bin";
  {
    auto f = AtomicFile::create(target);
    ASSERT_TRUE(f.ok());
    const char data[] = "hello";
    ASSERT_TRUE(f->write(std::as_bytes(std::span(data, 5))).ok());
    EXPECT_FALSE(std::filesystem::exists(target));
  }  // abandoned
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  {
    auto f = AtomicFile::create(target);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->write_zeros(10000).ok());
    ASSERT_TRUE(f->commit().ok());
  }
  EXPECT_EQ(std::filesystem::file_size(target), 10000u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(AtomicFile, FullDiskIsAnError) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  // Writing through a directory we cannot create files in is an error, not a crash.
  auto f = AtomicFile::create("/proc/qmix-cannot-write-here");
  EXPECT_FALSE(f.ok());
}

TEST(ThreadPool, ParallelForCoversEveryIndexOnce) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> hits(1000);
  pool.parallel_for(1000, 7, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
  });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  int calls = 0;
  pool.parallel_for(0, 1, [&](int64_t, int64_t, int) { ++calls; });
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace qmix

// End to end on a tiny dataset: generate 2 pipelines x 3 schedules, read it back, resume it,
// merge it, and check that damaged shards are rejected clearly without poisoning the others.
#include "tensorplan/perf/dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/temp_path.h"
#include "tensorplan/common/error.h"
#include "tensorplan/perf/dataset_stats.h"
#include "tensorplan/perf/generate.h"

namespace tensorplan::perf {
namespace {

using testing::TestDir;

GenerateOptions tiny_run(const std::string& out) {
  GenerateOptions o;
  o.pipelines = 2;
  o.schedules = 3;
  o.seed = 17;
  o.out_dir = out;
  o.pipeline = tiny_pipeline_options();
  o.timing.budget_seconds = 0.05;
  o.quiet = true;
  o.control_every = 5;
  o.format_version = 1;  // the v1 protocol; dataset_v2_test.cc covers format 2
  return o;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// One generated tiny dataset is shared by the checks below (generating it is the slow part, and
// ctest runs every TEST in its own process), so they are steps of one test.
struct TinyDataset {
  TestDir* dir_;
  GenerateSummary summary_;
  void HoldsEveryScheduleWithFeaturesAndTimings();
  void ResumeAddsNothingToACompleteShardAndRefusesOtherSettings();
  void ATornTailIsIgnoredAndCutOffOnResume();
  void ACorruptShardIsRejectedClearlyAndSkipped();
  void MergeKeepsEveryRecord();
};

TEST(Dataset, TinyDatasetEndToEnd) {
  TestDir dir("dataset");
  TinyDataset t{&dir, generate_shard(tiny_run(dir.str()))};
  {
    SCOPED_TRACE("holds every schedule");
    t.HoldsEveryScheduleWithFeaturesAndTimings();
  }
  {
    SCOPED_TRACE("resume");
    t.ResumeAddsNothingToACompleteShardAndRefusesOtherSettings();
  }
  {
    SCOPED_TRACE("torn tail");
    t.ATornTailIsIgnoredAndCutOffOnResume();
  }
  {
    SCOPED_TRACE("corrupt shard");
    t.ACorruptShardIsRejectedClearlyAndSkipped();
  }
  {
    SCOPED_TRACE("merge");
    t.MergeKeepsEveryRecord();
  }
}

void TinyDataset::HoldsEveryScheduleWithFeaturesAndTimings() {
  EXPECT_EQ(summary_.samples_total, 6);
  EXPECT_EQ(summary_.samples_measured, 6);
  const Shard shard = read_shard(summary_.shard_path);
  EXPECT_FALSE(shard.torn_tail);
  EXPECT_EQ(shard.config.at("pipelines"), 2);
  EXPECT_NE(shard.config.at("target").get<std::string>().find("x86-64-linux"), std::string::npos);
  ASSERT_EQ(shard.pipelines.size(), 2u);
  ASSERT_EQ(shard.schedules.size(), 6u);
  EXPECT_GE(shard.controls.size(), 2u);  // one at the start, one after 5 samples
  for (const auto& p : shard.pipelines) {
    const std::size_t stages = p.graph.stages.size();
    EXPECT_EQ(p.pipeline_features.size(), stages * kPipelineFeatureCount);
  }
  for (const auto& s : shard.schedules) {
    EXPECT_EQ(s.status, "ok") << s.detail;
    EXPECT_TRUE(s.has_timing);
    EXPECT_GT(s.timing.min_seconds, 0);
    EXPECT_LE(s.timing.min_seconds, s.timing.median_seconds);
    EXPECT_FALSE(s.schedule_source.empty());
    EXPECT_EQ(s.beam_size, s.sample == 0 ? 32 : 1);
  }
  // The control schedule is the same schedule every time.
  for (const auto& c : shard.controls)
    EXPECT_EQ(c.schedule_hash, shard.controls.front().schedule_hash);
  const DatasetStats stats = compute_stats({shard});
  EXPECT_EQ(stats.pipelines, 2);
  EXPECT_EQ(stats.schedules, 6);
}

void TinyDataset::ResumeAddsNothingToACompleteShardAndRefusesOtherSettings() {
  GenerateOptions o = tiny_run(dir_->str());
  EXPECT_THROW(generate_shard(o), Error);  // exists, no --resume
  o.resume = true;
  const std::int64_t before = std::filesystem::file_size(summary_.shard_path);
  const GenerateSummary again = generate_shard(o);
  EXPECT_EQ(again.samples_measured, 0);
  EXPECT_EQ(again.samples_before, 6);
  EXPECT_EQ(static_cast<std::int64_t>(std::filesystem::file_size(summary_.shard_path)), before);
  o.seed = 18;
  try {
    generate_shard(o);
    FAIL() << "resumed with another seed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("seed"), std::string::npos) << e.what();
  }
}

void TinyDataset::ATornTailIsIgnoredAndCutOffOnResume() {
  TestDir dir("torn");
  const std::string copy = dir / shard_file_name(0, 1);
  const std::string bytes = slurp(summary_.shard_path);
  const Shard whole = read_shard(summary_.shard_path);
  // Cut the file inside its last record, as a killed run would leave it.
  spit(copy, bytes.substr(0, bytes.size() - 7));
  const Shard torn = read_shard(copy);
  EXPECT_TRUE(torn.torn_tail);
  EXPECT_LT(torn.valid_bytes, static_cast<std::int64_t>(bytes.size()));
  GenerateOptions o = tiny_run(dir.str());
  o.resume = true;
  generate_shard(o);  // re-measures what was lost
  const Shard resumed = read_shard(copy);
  EXPECT_FALSE(resumed.torn_tail);
  EXPECT_EQ(resumed.schedules.size(), whole.schedules.size());
}

std::size_t records(const Shard& s) {
  return s.pipelines.size() + s.schedules.size() + s.controls.size() + s.retimes.size();
}

void TinyDataset::ACorruptShardIsRejectedClearlyAndSkipped() {
  TestDir dir("corrupt");
  std::string bytes = slurp(summary_.shard_path);
  const std::size_t flipped = bytes.size() / 2;
  bytes[flipped] ^= 0x5a;  // inside some record's payload
  spit(dir / "shard-00000-of-00002.tpshard", bytes);
  spit(dir / "shard-00001-of-00002.tpshard", "not a shard at all");
  // The damaged record is skipped and reported; every other record is read.
  const Shard whole = read_shard(summary_.shard_path);
  const Shard damaged = read_shard(dir / "shard-00000-of-00002.tpshard");
  ASSERT_EQ(damaged.damaged.size(), 1u);
  EXPECT_LE(damaged.damaged[0].first, static_cast<std::int64_t>(flipped));
  EXPECT_GT(damaged.damaged[0].second, static_cast<std::int64_t>(flipped));
  EXPECT_EQ(records(damaged), records(whole) - 1);
  try {
    read_shard(dir / "shard-00001-of-00002.tpshard");
    FAIL() << "not a shard, accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("shard-00001-of-00002.tpshard"), std::string::npos) << message;
    EXPECT_NE(message.find("not a tensorplan perf shard"), std::string::npos) << message;
  }
  // A merge that includes them fails and writes nothing.
  const std::string merged = dir / "merged.tpshard";
  EXPECT_THROW(merge_shards({dir.str()}, merged), Error);
  EXPECT_FALSE(std::filesystem::exists(merged));
  EXPECT_FALSE(std::filesystem::exists(merged + ".tmp"));
}

void TinyDataset::MergeKeepsEveryRecord() {
  TestDir dir("merge");
  const std::string merged = dir / "all.tpshard";
  merge_shards({dir_->str()}, merged);
  const Shard m = read_shard(merged);
  const Shard original = read_shard(summary_.shard_path);
  EXPECT_EQ(m.pipelines.size(), original.pipelines.size());
  EXPECT_EQ(m.schedules.size(), original.schedules.size());
  EXPECT_EQ(m.pipelines[0].pipeline_features, original.pipelines[0].pipeline_features);
  EXPECT_EQ(m.config.at("shards"), 1);
}

// A small v1 shard built by hand (a header and four control records, a few hundred bytes): each of
// its bytes is flipped in turn. Reading must never crash, never lose a record other than the one
// holding the flipped byte, never return a record that differs from what was written, and report
// the damaged bytes; a damaged header record is the one case that makes the shard unreadable.
TEST(ShardReader, EveryFlippedByteLosesAtMostItsOwnRecord) {
  TestDir dir("flip");
  const std::string path = dir / "small.tpshard";
  std::vector<std::size_t> starts;  // where each record's frame starts
  {
    ShardWriter writer = ShardWriter::create(path, Json{{"seed", 1}}, kShardVersionV1);
    starts.push_back(0);
    for (int i = 0; i < 4; ++i) {
      starts.push_back(std::filesystem::file_size(path));
      ControlRecord c;
      c.after_samples = 10 * i;
      c.status = "ok";
      c.schedule_hash = "hash" + std::to_string(i);
      c.at = 1000.5 + i;
      writer.write(to_record(c));
    }
  }
  const std::string original = slurp(path);
  starts.push_back(original.size());
  const Shard whole = read_shard(path);
  ASSERT_EQ(whole.controls.size(), 4u);
  ASSERT_LT(original.size(), 1000u);
  const auto record_of = [&](std::size_t byte) {  // 0: the header, k: control k - 1
    return static_cast<int>(std::upper_bound(starts.begin(), starts.end(), byte) - starts.begin()) -
           1;
  };
  const std::string flipped_path = dir / "flipped.tpshard";
  int unreadable = 0, repaired = 0;
  for (std::size_t byte = 0; byte < original.size(); ++byte) {
    for (const unsigned char mask : {0x01, 0xff}) {
      std::string bytes = original;
      bytes[byte] = static_cast<char>(bytes[byte] ^ mask);
      spit(flipped_path, bytes);
      SCOPED_TRACE("byte " + std::to_string(byte) + " mask " + std::to_string(mask));
      Shard shard;
      try {
        shard = read_shard(flipped_path);
      } catch (const Error& e) {
        EXPECT_EQ(record_of(byte), 0) << e.what();  // only the header makes it unreadable
        ++unreadable;
        continue;
      }
      // Every control read is one that was written, and all but the damaged one are there.
      std::vector<int> found;
      for (const auto& c : shard.controls) {
        const int i = c.after_samples / 10;
        ASSERT_TRUE(i >= 0 && i < 4 && c.after_samples == 10 * i);
        EXPECT_EQ(c.schedule_hash, "hash" + std::to_string(i));
        EXPECT_EQ(c.at, 1000.5 + i);
        found.push_back(i);
      }
      for (int i = 0; i < 4; ++i) {
        const bool present = std::count(found.begin(), found.end(), i) == 1;
        if (record_of(byte) != i + 1) {
          EXPECT_TRUE(present) << "control " << i << " lost";
        }
      }
      if (found.size() == 4) {  // nothing lost: the flip hit a frame header and was repaired
        EXPECT_TRUE(shard.damaged.empty());
        repaired += !shard.repaired.empty();
      } else {
        ASSERT_EQ(shard.damaged.size(), 1u);
        EXPECT_LE(shard.damaged[0].first, static_cast<std::int64_t>(byte));
        EXPECT_GT(shard.damaged[0].second, static_cast<std::int64_t>(byte));
      }
    }
  }
  EXPECT_GT(repaired, 0);    // flips in the marker and size fields
  EXPECT_GT(unreadable, 0);  // flips in the header record
}

// --resume must never delete what it cannot read: a damaged tail is set aside, not cut off.
TEST(ShardReader, AppendingSetsADamagedTailAsideAndCutsATornOne) {
  TestDir dir("aside");
  const std::string path = dir / "s.tpshard";
  {
    ShardWriter writer = ShardWriter::create(path, Json{{"seed", 1}}, kShardVersionV1);
    ControlRecord c;
    c.status = "ok";
    writer.write(to_record(c));
  }
  const Shard good = read_shard(path);
  const std::string intact = slurp(path);
  // A damaged last record: its payload changed, so its checksum fails.
  std::string bytes = intact;
  bytes[bytes.size() - 3] ^= 0x10;
  spit(path, bytes);
  Shard shard = read_shard(path);
  ASSERT_EQ(shard.damaged.size(), 1u);
  EXPECT_FALSE(shard.torn_tail);
  { ShardWriter::append_to(path, shard.valid_bytes); }
  const std::string aside = path + ".damaged-at-" + std::to_string(shard.valid_bytes);
  ASSERT_TRUE(std::filesystem::exists(aside));
  EXPECT_EQ(slurp(aside), bytes.substr(static_cast<std::size_t>(shard.valid_bytes)));
  EXPECT_EQ(std::filesystem::file_size(path), static_cast<std::uintmax_t>(shard.valid_bytes));
  // It is not overwritten by a second damaged tail.
  spit(path, bytes);
  EXPECT_THROW(ShardWriter::append_to(path, shard.valid_bytes), Error);
  // A torn record (a killed run) is cut off as before, with nothing set aside.
  std::filesystem::remove(aside);
  spit(path, intact.substr(0, intact.size() - 5));
  shard = read_shard(path);
  EXPECT_TRUE(shard.torn_tail);
  EXPECT_TRUE(shard.damaged.empty());
  { ShardWriter::append_to(path, shard.valid_bytes); }
  EXPECT_FALSE(std::filesystem::exists(path + ".damaged-at-" + std::to_string(shard.valid_bytes)));
  EXPECT_EQ(std::filesystem::file_size(path), static_cast<std::uintmax_t>(shard.valid_bytes));
  EXPECT_EQ(good.controls.size(), 1u);
}

TEST(Generate, RejectsBadSettingsBeforeWriting) {
  TestDir dir("bad");
  GenerateOptions o = tiny_run(dir.str());
  o.shard = 2;
  o.shards = 2;
  EXPECT_THROW(generate_shard(o), Error);
  o.shard = 0;
  o.pipelines = 0;
  EXPECT_THROW(generate_shard(o), Error);
  o.pipelines = 2;
  o.out_dir = "/proc/tensorplan-cannot-write-here";
  EXPECT_THROW(generate_shard(o), Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir.str()));
}

TEST(Generate, SamplesAreDeterministicAndDisjointAcrossShards) {
  GenerateOptions o;
  o.seed = 3;
  const SampleSpec a = sample_spec(o, 5, 7), b = sample_spec(o, 5, 7), c = sample_spec(o, 5, 8);
  EXPECT_EQ(a.pipeline_seed, b.pipeline_seed);
  EXPECT_EQ(a.search_seed, b.search_seed);
  EXPECT_EQ(a.random_dropout, b.random_dropout);
  EXPECT_NE(a.search_seed, c.search_seed);
  EXPECT_EQ(sample_spec(o, 5, 0).beam_size, 32);
  EXPECT_EQ(sample_spec(o, 5, 0).random_dropout, 100);
  EXPECT_NE(sample_spec(o, 4, 1).pipeline_seed, sample_spec(o, 5, 1).pipeline_seed);
}

}  // namespace
}  // namespace tensorplan::perf

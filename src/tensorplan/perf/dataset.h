// The measured dataset on disk: append-only shard files of framed records.
//
// Two format versions are read. Version 1 (docs/perf-dataset.md, data/perf): one "schedule"
// record per sample, timed one schedule after the other. Version 2 (data/perf-v2): one
// "pipeline" record per pipeline holding all its schedules with every timing round (written only
// once the pipeline is timed, so a killed run loses at most the pipeline in flight), and
// "retime" records from the repeatability pass. The reader gives both the same shape.
//
// A shard file is a sequence of records. Each record is framed as
//   "TPR1" | uint32 LE payload size | uint32 LE CRC-32 of the payload | payload
// where the payload is a zlib-compressed CBOR object with a "type". The first record is the
// header ({"type": "header", "format": "tensorplan.perf-shard", "version": 1, "config": {...}});
// then "pipeline", "schedule" and "control" records in the order they were measured (see
// docs/perf-dataset.md for their fields). A new shard is created under a temporary name and
// renamed once its header is on disk; each record is appended with one write() and synced, so a
// killed run leaves at most one torn record at the end, which readers ignore and --resume cuts off.
// A record that fails its CRC (damaged bytes) is skipped: the reader scans on for the next record
// marker whose record passes its CRC, reads on from there, and reports the skipped byte ranges
// (Shard::damaged); a record whose marker or size alone is damaged is still read when its payload
// passes the CRC. --resume sets a damaged tail aside in a side file rather than cutting it off. A
// record that passes its CRC but whose contents are bad, or a damaged header record, makes the
// shard unreadable: an Error naming the file and byte offset; other shards are unaffected.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tensorplan/common/json.h"
#include "tensorplan/perf/halide/benchmark.h"
#include "tensorplan/perf/halide/stage_graph.h"

namespace tensorplan::perf {

inline constexpr const char* kShardFormat = "tensorplan.perf-shard";
inline constexpr int kShardVersion = 2;    // what `perf gen` writes
inline constexpr int kShardVersionV1 = 1;  // still read (and written by `perf gen --format 1`)
inline constexpr const char* kShardSuffix = ".tpshard";

struct PipelineRecord {
  int index = 0;           // pipeline index within the run (0..pipelines-1)
  std::uint64_t seed = 0;  // generator seed
  int generator_version = 0;
  std::vector<std::string> ops;  // generator op kinds, in order
  Json inputs;                   // [{"name", "type", "shape": [w, h, c]}]
  Json output;                   // {"type", "shape": [w, h, c]}
  StageGraph graph;
  std::vector<float> pipeline_features;  // stages x 287; empty until a schedule carried them
  Json timing;  // v2: how the pipeline was timed (rounds, seed, machine conditions); null in v1
};

struct ScheduleRecord {
  int pipeline = 0;               // pipeline index
  int sample = 0;                 // 0 = Adams2019 beam search, 1.. = randomised
  int beam_size = 0;              // HL_BEAM_SIZE
  int random_dropout = 0;         // HL_RANDOM_DROPOUT (percent kept; 100 = none dropped)
  std::uint64_t search_seed = 0;  // HL_SEED
  std::string status;             // "ok" or "<error|crashed|timeout>:<phase>"
  std::string detail;
  double autoschedule_seconds = 0;
  double compile_seconds = 0;
  double wall_seconds = 0;  // the whole sample, process start to exit
  bool has_timing = false;
  Timing timing;                         // seconds per run
  std::string schedule_source;           // C++ source of the schedule, as Adams2019 prints it
  std::vector<float> schedule_features;  // stages x 39; empty if scheduling failed
  double finished_at = 0;                // Unix time
  // v2 only (v1: kind "", machine params 0, no rounds).
  std::string kind;  // "beam", "beam-machine", "random", "random-machine": how it was sampled
  int machine_parallelism = 0;  // Adams2019 MachineParams
  std::int64_t machine_cache_bytes = 0;
  double machine_balance = 0;
  std::vector<double> rounds;  // per timing round: seconds per run, minimum over its batches
  // The dataset's label, seconds per run: v2 the median over rounds, v1 the minimum over batches.
  double label_seconds = 0;
};

// v2: one pipeline timed again in the repeatability pass, later than its first timing.
struct RetimeRecord {
  int pipeline = 0;
  Json timing;  // as PipelineRecord::timing
  struct Schedule {
    int sample = 0;
    bool same_schedule = false;  // the recompiled schedule's source equals the first pass's
    std::vector<double> rounds;
    double label_seconds = 0;
  };
  std::vector<Schedule> schedules;  // the schedules timed again
  double at = 0;                    // Unix time
};

struct ControlRecord {
  int after_samples = 0;  // samples this process had measured before this control
  std::string status;
  Timing timing;
  std::string schedule_hash;  // hash of the schedule source: the same schedule every time
  double at = 0;              // Unix time
};

struct Shard {
  std::string path;
  int version = 0;                        // the header's format version
  Json config;                            // the header's "config"
  std::vector<PipelineRecord> pipelines;  // in file order
  std::vector<ScheduleRecord> schedules;  // in file order
  std::vector<ControlRecord> controls;
  std::vector<RetimeRecord> retimes;  // v2
  std::int64_t valid_bytes = 0;       // end of the last complete record
  std::int64_t file_bytes = 0;
  bool torn_tail = false;  // an incomplete last record (a killed run)
  // Damaged bytes skipped by the reader, [begin, end): a record that failed its checksum, up to
  // the next intact record (found by scanning for the record marker). Everything else is read.
  std::vector<std::pair<std::int64_t, std::int64_t>> damaged;
  // Records whose frame header (marker or size) was damaged but whose payload passed its
  // checksum, so they were read: their byte offsets.
  std::vector<std::int64_t> repaired;
};

// Reads a whole shard. Throws Error naming the file (and byte offset) if it is not a shard, has a
// bad record, or has records that contradict each other.
Shard read_shard(const std::string& path);

// The shard files of a directory (sorted), or the path itself if it is a file.
std::vector<std::string> list_shards(const std::string& path);

// Appends records to a shard file.
class ShardWriter {
 public:
  // Creates a new shard holding only its header (temporary file + rename). Fails if it exists.
  static ShardWriter create(const std::string& path, const Json& config,
                            int version = kShardVersion);
  // Opens an existing shard for appending, first cutting it to `valid_bytes` (dropping a torn
  // record left by a killed run). Damaged bytes after `valid_bytes` are first copied to
  // "<path>.damaged-at-<valid_bytes>" (said on stderr); it fails if that file exists.
  static ShardWriter append_to(const std::string& path, std::int64_t valid_bytes);

  ShardWriter(ShardWriter&& other) noexcept;
  ShardWriter& operator=(ShardWriter&&) = delete;
  ShardWriter(const ShardWriter&) = delete;
  ~ShardWriter();

  void write(const Json& record);  // one framed record, written with one write() and synced

 private:
  ShardWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

// Encoding of the typed records as the JSON written into the shard.
Json to_record(const PipelineRecord& p);
Json to_record(const ScheduleRecord& s, const std::vector<float>* pipeline_features);
Json to_record(const ControlRecord& c);
// v2: a pipeline with all its schedules (failed ones included) in one record.
Json to_record_v2(const PipelineRecord* p, int pipeline,
                  const std::vector<const ScheduleRecord*>& schedules);
Json to_record(const RetimeRecord& r);

// One frame (for tests that build damaged shards).
std::string encode_frame(const Json& record);

}  // namespace tensorplan::perf

#include "tensorplan/perf/dataset.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string_view>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/perf/halide/featurizer.h"
#include "tensorplan/perf/halide/sampler.h"

namespace tensorplan::perf {

namespace {

constexpr char kMagic[4] = {'T', 'P', 'R', '1'};
constexpr std::size_t kFrameHeader = 12;
constexpr std::uint32_t kMaxPayload = 256u << 20;

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint32_t get_u32(const std::string& in, std::size_t pos) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(in[pos + i])) << (8 * i);
  return v;
}

std::string compress(const std::vector<std::uint8_t>& raw) {
  uLongf size = compressBound(raw.size());
  std::string out(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &size, raw.data(), raw.size(), 6) != Z_OK) {
    fail("zlib compression failed");
  }
  out.resize(size);
  return out;
}

std::vector<std::uint8_t> decompress(const std::string& payload) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) fail("zlib init failed");
  std::vector<std::uint8_t> out;
  std::uint8_t chunk[1 << 16];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
  z.avail_in = static_cast<uInt>(payload.size());
  int rc;
  do {
    z.next_out = chunk;
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      fail("bad compressed data");
    }
    out.insert(out.end(), chunk, chunk + (sizeof chunk - z.avail_out));
  } while (rc != Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

Json timing_json(const Timing& t) {
  return {{"min", t.min_seconds}, {"median", t.median_seconds},
          {"max", t.max_seconds}, {"first", t.first_seconds},
          {"batches", t.batches}, {"runs_per_batch", t.runs_per_batch}};
}
Timing timing_from(const Json& j) {
  Timing t;
  t.min_seconds = j.at("min").get<double>();
  t.median_seconds = j.at("median").get<double>();
  t.max_seconds = j.at("max").get<double>();
  t.first_seconds = j.at("first").get<double>();
  t.batches = j.at("batches").get<int>();
  t.runs_per_batch = j.at("runs_per_batch").get<int>();
  return t;
}

// Accepts versions 1 and 2; anything else fails naming the version found.
int check_shard_header(const std::string& path, const Json& header) {
  if (header.value("format", "") != kShardFormat)
    fail("{}: format is {}, expected \"{}\"", path,
         header.contains("format") ? header.at("format").dump() : "missing", kShardFormat);
  const auto v = header.find("version");
  if (v == header.end() || !v->is_number_integer())
    fail("{}: missing integer \"version\" for format \"{}\"", path, kShardFormat);
  const auto version = v->get<std::int64_t>();
  if (version != kShardVersionV1 && version != kShardVersion) {
    fail("{}: {} version {} is not supported (this tensorplan reads versions {} and {})", path,
         kShardFormat, version, kShardVersionV1, kShardVersion);
  }
  return static_cast<int>(version);
}

}  // namespace

std::string encode_frame(const Json& record) {
  const std::string payload = compress(Json::to_cbor(record));
  std::string frame(kMagic, 4);
  put_u32(frame, static_cast<std::uint32_t>(payload.size()));
  put_u32(frame, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(payload.data()),
                                                  static_cast<uInt>(payload.size()))));
  frame += payload;
  return frame;
}

Json to_record(const PipelineRecord& p) {
  return {{"type", "pipeline"}, {"pipeline", p.index},
          {"seed", p.seed},     {"generator_version", p.generator_version},
          {"ops", p.ops},       {"inputs", p.inputs},
          {"output", p.output}, {"graph", stage_graph_to_json(p.graph)}};
}

namespace {

Json schedule_json(const ScheduleRecord& s) {
  Json j = {{"pipeline", s.pipeline},
            {"sample", s.sample},
            {"beam_size", s.beam_size},
            {"random_dropout", s.random_dropout},
            {"search_seed", s.search_seed},
            {"status", s.status},
            {"detail", s.detail},
            {"autoschedule_seconds", s.autoschedule_seconds},
            {"compile_seconds", s.compile_seconds},
            {"wall_seconds", s.wall_seconds},
            {"schedule_source", s.schedule_source},
            {"schedule_features", float_blob(s.schedule_features)},
            {"finished_at", s.finished_at}};
  if (s.has_timing) j["timing"] = timing_json(s.timing);
  return j;
}

ScheduleRecord schedule_from(const Json& record) {
  ScheduleRecord s;
  s.pipeline = record.at("pipeline").get<int>();
  s.sample = record.at("sample").get<int>();
  s.beam_size = record.at("beam_size").get<int>();
  s.random_dropout = record.at("random_dropout").get<int>();
  s.search_seed = record.at("search_seed").get<std::uint64_t>();
  s.status = record.at("status").get<std::string>();
  s.detail = record.at("detail").get<std::string>();
  s.autoschedule_seconds = record.at("autoschedule_seconds").get<double>();
  s.compile_seconds = record.at("compile_seconds").get<double>();
  s.wall_seconds = record.at("wall_seconds").get<double>();
  s.schedule_source = record.at("schedule_source").get<std::string>();
  s.schedule_features = floats_from_blob(record.at("schedule_features"));
  s.finished_at = record.at("finished_at").get<double>();
  if (record.contains("timing")) {
    s.timing = timing_from(record.at("timing"));
    s.has_timing = true;
    s.label_seconds = s.timing.min_seconds;  // v1's figure
  }
  return s;
}

// v2 additions to a schedule object.
void add_v2_fields(const ScheduleRecord& s, Json* j) {
  (*j)["kind"] = s.kind;
  (*j)["machine_params"] = {{"parallelism", s.machine_parallelism},
                            {"cache_bytes", s.machine_cache_bytes},
                            {"balance", s.machine_balance}};
  if (s.has_timing) {
    (*j)["rounds"] = s.rounds;
    (*j)["label"] = s.label_seconds;
  }
}
void read_v2_fields(const Json& j, ScheduleRecord* s) {
  s->kind = j.at("kind").get<std::string>();
  const Json& m = j.at("machine_params");
  s->machine_parallelism = m.at("parallelism").get<int>();
  s->machine_cache_bytes = m.at("cache_bytes").get<std::int64_t>();
  s->machine_balance = m.at("balance").get<double>();
  if (s->has_timing) {
    s->rounds = j.at("rounds").get<std::vector<double>>();
    s->label_seconds = j.at("label").get<double>();
    if (s->rounds.empty() || !(s->label_seconds > 0))
      fail("schedule {} of pipeline {} is timed without rounds", s->sample, s->pipeline);
  }
}

PipelineRecord pipeline_from(const Json& record) {
  PipelineRecord p;
  p.index = record.at("pipeline").get<int>();
  p.seed = record.at("seed").get<std::uint64_t>();
  p.generator_version = record.at("generator_version").get<int>();
  p.ops = record.at("ops").get<std::vector<std::string>>();
  p.inputs = record.at("inputs");
  p.output = record.at("output");
  p.graph = stage_graph_from_json(record.at("graph"));
  return p;
}

}  // namespace

Json to_record(const ScheduleRecord& s, const std::vector<float>* pipeline_features) {
  Json j = schedule_json(s);
  j["type"] = "schedule";
  if (pipeline_features) j["pipeline_features"] = float_blob(*pipeline_features);
  return j;
}

Json to_record_v2(const PipelineRecord* p, int pipeline,
                  const std::vector<const ScheduleRecord*>& schedules) {
  Json j =
      p ? to_record(*p) : Json{{"type", "pipeline"}, {"pipeline", pipeline}, {"graph", nullptr}};
  if (p) {
    j["pipeline_features"] = float_blob(p->pipeline_features);
    j["timing"] = p->timing;
  }
  Json list = Json::array();
  for (const ScheduleRecord* s : schedules) {
    Json sj = schedule_json(*s);
    add_v2_fields(*s, &sj);
    list.push_back(std::move(sj));
  }
  j["schedules"] = std::move(list);
  return j;
}

Json to_record(const RetimeRecord& r) {
  Json list = Json::array();
  for (const auto& s : r.schedules) {
    list.push_back({{"sample", s.sample},
                    {"same_schedule", s.same_schedule},
                    {"rounds", s.rounds},
                    {"label", s.label_seconds}});
  }
  return {{"type", "retime"},
          {"pipeline", r.pipeline},
          {"timing", r.timing},
          {"schedules", list},
          {"at", r.at}};
}

Json to_record(const ControlRecord& c) {
  return {{"type", "control"},
          {"after_samples", c.after_samples},
          {"status", c.status},
          {"timing", timing_json(c.timing)},
          {"schedule_hash", c.schedule_hash},
          {"at", c.at}};
}

namespace {

// True if a whole frame starts at `pos`: magic, a size that fits in the file, and a payload whose
// CRC-32 is the one recorded. Sets *payload_size.
bool intact_frame(const std::string& bytes, std::size_t pos, std::size_t* payload_size) {
  if (bytes.size() - pos < kFrameHeader || std::memcmp(bytes.data() + pos, kMagic, 4) != 0)
    return false;
  const std::uint32_t size = get_u32(bytes, pos + 4);
  if (size > kMaxPayload || bytes.size() - pos - kFrameHeader < size) return false;
  const auto* payload = reinterpret_cast<const Bytef*>(bytes.data() + pos + kFrameHeader);
  if (crc32(0, payload, size) != get_u32(bytes, pos + 8)) return false;
  *payload_size = size;
  return true;
}

// Where the next whole frame at or after `from` starts (bytes.size() if none).
std::size_t next_intact_frame(const std::string& bytes, std::size_t from) {
  std::size_t size = 0;
  for (std::size_t at = bytes.find(std::string_view(kMagic, 4), from); at != std::string::npos;
       at = bytes.find(std::string_view(kMagic, 4), at + 1))
    if (intact_frame(bytes, at, &size)) return at;
  return bytes.size();
}

// A frame at `pos` whose magic or size field is damaged but whose payload runs to `next` (the next
// intact frame, or the end) and has the recorded CRC-32: a flipped byte in the frame header.
bool frame_with_damaged_header(const std::string& bytes, std::size_t pos, std::size_t next,
                               std::size_t* payload_size) {
  if (next - pos < kFrameHeader || next - pos - kFrameHeader > kMaxPayload) return false;
  const std::size_t size = next - pos - kFrameHeader;
  const auto* payload = reinterpret_cast<const Bytef*>(bytes.data() + pos + kFrameHeader);
  if (crc32(0, payload, static_cast<uInt>(size)) != get_u32(bytes, pos + 8)) return false;
  *payload_size = size;
  return true;
}

// What a killed run leaves: the start of one frame (part of its header, or a header whose size
// runs past the end of the file).
bool looks_torn(const std::string& bytes, std::size_t pos) {
  const std::size_t left = bytes.size() - pos;
  if (std::memcmp(bytes.data() + pos, kMagic, std::min<std::size_t>(left, 4)) != 0) return false;
  if (left < kFrameHeader) return true;
  const std::uint32_t size = get_u32(bytes, pos + 4);
  return size <= kMaxPayload && left - kFrameHeader < size;
}

}  // namespace

Shard read_shard(const std::string& path) {
  std::string bytes;
  {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) fail("{}: not a shard file", path);
    // read_file gunzips by magic; shards are never gzipped, so read raw.
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail("{}: cannot open: {}", path, std::strerror(errno));
    char buffer[1 << 16];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) bytes.append(buffer, n);
    std::fclose(f);
  }
  Shard shard;
  shard.path = path;
  shard.file_bytes = static_cast<std::int64_t>(bytes.size());
  std::map<int, std::size_t> pipeline_at;
  std::set<std::pair<int, int>> seen;
  std::size_t pos = 0;
  int record_number = 0;
  while (pos < bytes.size()) {
    const auto where = [&] {
      return fmt::format("{}: record {} at byte {}", path, record_number, pos);
    };
    // The frame at `pos`, or, where it is damaged, the next intact one (resynchronising).
    std::size_t payload_size = 0;
    if (!intact_frame(bytes, pos, &payload_size)) {
      const std::size_t next = next_intact_frame(bytes, pos + 1);
      if (frame_with_damaged_header(bytes, pos, next, &payload_size)) {
        // Magic or size damaged, payload and checksum intact: the record is whole.
        shard.repaired.push_back(static_cast<std::int64_t>(pos));
      } else if (next == bytes.size() && looks_torn(bytes, pos)) {
        shard.torn_tail = true;  // the run was killed while writing this record
        break;
      } else {
        if (record_number == 0) {
          if (bytes.size() < 4 || std::memcmp(bytes.data(), kMagic, 4) != 0)
            fail("{}: not a tensorplan perf shard (bad magic)", path);
          fail("{}: the header record (bytes 0 to {}) is damaged, so the shard cannot be read",
               path, next);
        }
        shard.damaged.push_back({static_cast<std::int64_t>(pos), static_cast<std::int64_t>(next)});
        pos = next;
        continue;
      }
    }
    const std::size_t size = payload_size;
    const std::string payload = bytes.substr(pos + kFrameHeader, size);
    Json record;
    try {
      record = Json::from_cbor(decompress(payload));
    } catch (const std::exception& e) {
      fail("{}: corrupt shard (cannot decode: {})", where(), e.what());
    }
    try {
      const std::string type = record.at("type").get<std::string>();
      if (record_number == 0) {
        if (type != "header") fail("first record is '{}', not the header", type);
        shard.version = check_shard_header(path, record);
        shard.config = record.at("config");
      } else if (type == "pipeline" && shard.version >= 2 && record.at("graph").is_null()) {
        // v2: the pipeline could not be generated; its schedules carry the reason.
        for (const Json& sj : record.at("schedules")) {
          ScheduleRecord s = schedule_from(sj);
          read_v2_fields(sj, &s);
          if (s.status == "ok")
            fail("schedule {} of ungenerated pipeline {} is ok", s.sample, s.pipeline);
          if (!seen.insert({s.pipeline, s.sample}).second)
            fail("schedule {} of pipeline {} appears twice", s.sample, s.pipeline);
          shard.schedules.push_back(std::move(s));
        }
      } else if (type == "pipeline") {
        PipelineRecord p = pipeline_from(record);
        if (pipeline_at.count(p.index)) fail("pipeline {} appears twice", p.index);
        const std::size_t stages = p.graph.stages.size();
        if (shard.version >= 2) {
          p.pipeline_features = floats_from_blob(record.at("pipeline_features"));
          p.timing = record.at("timing");
          if (!p.pipeline_features.empty() &&
              p.pipeline_features.size() != stages * kPipelineFeatureCount) {
            fail("pipeline {} has {} pipeline features for {} stages", p.index,
                 p.pipeline_features.size(), stages);
          }
          for (const Json& sj : record.at("schedules")) {
            ScheduleRecord s = schedule_from(sj);
            read_v2_fields(sj, &s);
            if (s.pipeline != p.index)
              fail("pipeline {} holds a schedule of pipeline {}", p.index, s.pipeline);
            if (!s.schedule_features.empty() &&
                s.schedule_features.size() != stages * kScheduleFeatureCount) {
              fail("schedule {} of pipeline {} has {} schedule features for {} stages", s.sample,
                   s.pipeline, s.schedule_features.size(), stages);
            }
            if (!seen.insert({s.pipeline, s.sample}).second)
              fail("schedule {} of pipeline {} appears twice", s.sample, s.pipeline);
            shard.schedules.push_back(std::move(s));
          }
        }
        pipeline_at[p.index] = shard.pipelines.size();
        shard.pipelines.push_back(std::move(p));
      } else if (type == "retime" && shard.version >= 2) {
        RetimeRecord r;
        r.pipeline = record.at("pipeline").get<int>();
        r.timing = record.at("timing");
        r.at = record.at("at").get<double>();
        for (const Json& sj : record.at("schedules")) {
          RetimeRecord::Schedule s;
          s.sample = sj.at("sample").get<int>();
          s.same_schedule = sj.at("same_schedule").get<bool>();
          s.rounds = sj.at("rounds").get<std::vector<double>>();
          s.label_seconds = sj.at("label").get<double>();
          r.schedules.push_back(std::move(s));
        }
        if (!pipeline_at.count(r.pipeline))
          fail("retime of pipeline {} precedes its pipeline", r.pipeline);
        shard.retimes.push_back(std::move(r));
      } else if (type == "schedule" && shard.version == 1) {
        ScheduleRecord s = schedule_from(record);
        if (!seen.insert({s.pipeline, s.sample}).second) {
          fail("schedule {} of pipeline {} appears twice", s.sample, s.pipeline);
        }
        const auto p = pipeline_at.find(s.pipeline);
        if (p != pipeline_at.end()) {
          PipelineRecord& pipeline = shard.pipelines[p->second];
          const std::size_t stages = pipeline.graph.stages.size();
          if (!s.schedule_features.empty() &&
              s.schedule_features.size() != stages * kScheduleFeatureCount) {
            fail("schedule {} of pipeline {} has {} schedule features for {} stages", s.sample,
                 s.pipeline, s.schedule_features.size(), stages);
          }
          if (record.contains("pipeline_features") && pipeline.pipeline_features.empty()) {
            pipeline.pipeline_features = floats_from_blob(record.at("pipeline_features"));
            if (pipeline.pipeline_features.size() != stages * kPipelineFeatureCount) {
              fail("pipeline {} has {} pipeline features for {} stages", s.pipeline,
                   pipeline.pipeline_features.size(), stages);
            }
          }
        } else if (s.status == "ok") {
          fail("schedule {} of pipeline {} precedes its pipeline record", s.sample, s.pipeline);
        }
        shard.schedules.push_back(std::move(s));
      } else if (type == "control" && shard.version == 1) {
        ControlRecord c;
        c.after_samples = record.at("after_samples").get<int>();
        c.status = record.at("status").get<std::string>();
        c.timing = timing_from(record.at("timing"));
        c.schedule_hash = record.at("schedule_hash").get<std::string>();
        c.at = record.at("at").get<double>();
        shard.controls.push_back(std::move(c));
      } else {
        fail("unknown record type '{}' in a version {} shard", type, shard.version);
      }
    } catch (const Error& e) {
      if (std::string(e.what()).rfind(path, 0) == 0) throw;
      fail("{}: corrupt shard ({})", where(), e.what());
    } catch (const Json::exception& e) {
      fail("{}: corrupt shard ({})", where(), e.what());
    }
    pos += kFrameHeader + size;
    shard.valid_bytes = static_cast<std::int64_t>(pos);
    record_number++;
  }
  if (record_number == 0) fail("{}: not a tensorplan perf shard (no header)", path);
  return shard;
}

std::vector<std::string> list_shards(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return {path};
  if (!fs::is_directory(path, ec)) fail("{}: no such file or directory", path);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && ends_with(name, kShardSuffix))
      files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

ShardWriter ShardWriter::create(const std::string& path, const Json& config, int version) {
  if (std::filesystem::exists(path)) fail("{}: already exists (use --resume to continue it)", path);
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("{}: cannot create: {}", temp, std::strerror(errno));
  ShardWriter writer(temp, fd);
  writer.write(
      {{"type", "header"}, {"format", kShardFormat}, {"version", version}, {"config", config}});
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    fail("{}: cannot rename into place: {}", path, std::strerror(errno));
  }
  writer.path_ = path;
  return writer;
}

ShardWriter ShardWriter::append_to(const std::string& path, std::int64_t valid_bytes) {
  // What follows the last intact record is cut off. A torn record (a killed run) is nothing that
  // could ever be read; anything else (damaged records) is set aside in a side file first, so
  // that nothing is deleted that a person might still recover.
  std::error_code ec;
  const auto file_bytes = static_cast<std::int64_t>(std::filesystem::file_size(path, ec));
  if (ec) fail("{}: cannot read its size: {}", path, ec.message());
  if (valid_bytes < 0 || valid_bytes > file_bytes)
    fail("{}: cannot append after byte {} of a {}-byte file", path, valid_bytes, file_bytes);
  if (file_bytes > valid_bytes) {
    std::string tail;
    {
      std::ifstream in(path, std::ios::binary);
      in.seekg(valid_bytes);
      tail.assign(std::istreambuf_iterator<char>(in), {});
      if (static_cast<std::int64_t>(tail.size()) != file_bytes - valid_bytes)
        fail("{}: cannot read its last {} bytes", path, file_bytes - valid_bytes);
    }
    if (!looks_torn(tail, 0)) {
      const std::string aside = fmt::format("{}.damaged-at-{}", path, valid_bytes);
      if (std::filesystem::exists(aside, ec))
        fail("{}: {} exists already; move it away before resuming", path, aside);
      write_file_atomic(aside, tail);
      fmt::print(stderr,
                 "tensorplan: {}: bytes {} to {} are damaged (not an intact record); set aside "
                 "in {} before resuming\n",
                 path, valid_bytes, file_bytes, aside);
    }
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open for appending: {}", path, std::strerror(errno));
  if (::ftruncate(fd, valid_bytes) != 0 || ::lseek(fd, 0, SEEK_END) < 0) {
    ::close(fd);
    fail("{}: cannot cut off the torn record: {}", path, std::strerror(errno));
  }
  return ShardWriter(path, fd);
}

ShardWriter::ShardWriter(ShardWriter&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_) {
  other.fd_ = -1;
}

ShardWriter::~ShardWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void ShardWriter::write(const Json& record) {
  const std::string frame = encode_frame(record);
  std::size_t done = 0;
  while (done < frame.size()) {
    const ssize_t n = ::write(fd_, frame.data() + done, frame.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("{}: write failed: {}", path_, std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_) != 0) fail("{}: sync failed: {}", path_, std::strerror(errno));
}

}  // namespace tensorplan::perf

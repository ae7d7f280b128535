// -http=ADDR: index the trace once, then serve the web UI (web/, embedded) and its JSON API.
//
// Loading is one pass over the events that feeds every analysis at once (timeline index,
// goroutine statistics, annotations, MMU, the four blocking profiles and the scheduler-latency
// distribution); afterwards all state is read-only, so the handlers run on httplib's thread pool
// without locks. Responses of the timeline API are bounded by what is visible (lib/analysis/
// timeline.h), never by the number of events.
//
// Safety (STYLE.md 10, local-only by default): ":8080" binds 127.0.0.1; a non-loopback host must
// be named and gets a warning; a request whose Host header names another host is refused, so a
// web page cannot reach the server through DNS rebinding.
#include <malloc.h>
#include <signal.h>

#include <httplib.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cmd/tracetool/commands.h"
#include "cmd/tracetool/http_assets.h"
#include "cmd/tracetool/http_goroutines.h"
#include "lib/analysis/annotations.h"
#include "lib/analysis/blocking_profile.h"
#include "lib/analysis/counters.h"
#include "lib/analysis/go_state_machine.h"
#include "lib/analysis/goroutine_stats.h"
#include "lib/analysis/mmu.h"
#include "lib/analysis/report.h"
#include "lib/analysis/sched_latency.h"
#include "lib/analysis/timeline.h"
#include "lib/parser/input.h"
#include "lib/parser/reader.h"

namespace tracetool::cli {
namespace {

using analysis::Lens;
using analysis::ProfileMode;
using analysis::Span;
using analysis::SpanKind;
using nlohmann::json;

constexpr ProfileMode kModes[] = {ProfileMode::kNet, ProfileMode::kSync, ProfileMode::kSyscall,
                                  ProfileMode::kSched, ProfileMode::kSchedLat};
constexpr const char* kModeNames[] = {"net", "sync", "syscall", "sched", "schedlat"};
constexpr int kModeCount = 5;

// Everything the pages show. The timeline index is built first (pass 1), then the server answers
// while a second pass over the same file computes the analyses on a background thread; `ready`
// (release/acquire) publishes them. A trace read from stdin gets one pass for both before serving.
struct Model : analysis::IntervalSink {
  std::string name;
  std::unique_ptr<parser::Reader> reader;  // pass 1: timeline, stacks and strings for details
  analysis::Timeline timeline;
  std::unique_ptr<analysis::Counters> counters;
  int64_t last_ts = 0;
  uint64_t events = 0;
  std::set<uint64_t> threads;
  double index_seconds = 0;

  // Pass 2, read-only once `ready` is set.
  std::unique_ptr<parser::Reader> areader_owned;
  const parser::Reader* areader = nullptr;
  // The goroutine analysis lives only while loading: the pages read `digest`, and a group's page
  // is computed on request from the trace file (GroupDetailJson). A trace from stdin cannot be
  // read again, so there `gstats` keeps every goroutine's summary (`full_gstats`).
  std::unique_ptr<analysis::GoroutineStats> gstats;
  GoroutineDigest digest;
  bool full_gstats = false;
  std::string path;
  // The last few group pages (at most kDetailCacheEntries, kDetailCacheBytes); `detail_mu` also
  // serialises the re-reads, so at most one is in memory at a time.
  static constexpr size_t kDetailCacheEntries = 8;
  static constexpr size_t kDetailCacheBytes = 64 << 20;
  std::mutex detail_mu;
  std::list<std::pair<std::string, std::string>> detail_cache;  // most recent first
  std::unique_ptr<analysis::Annotations> ann;
  std::unique_ptr<analysis::MutatorUtilization> mu;
  std::unique_ptr<analysis::MMUCurve> mmu;
  std::unique_ptr<analysis::SchedLatency> schedlat;
  std::vector<std::unique_ptr<analysis::BlockingProfile>> profiles;
  bool mmu_ok = true;
  std::string groups;  // JSON of the goroutine groups
  std::string schedlat_json;
  std::string analysis_error;  // set instead of the analyses if pass 2 failed
  double analysis_seconds = 0;
  std::atomic<bool> ready{false};
  std::atomic<int> progress{0};  // percent of pass 2

  void OnInterval(const analysis::Interval& iv) override {
    for (auto& p : profiles) p->OnInterval(iv);
  }
  // The goroutine's start function ("" if unknown or the analyses are not ready yet).
  std::string_view GoName(uint64_t g) const {
    if (!ready.load(std::memory_order_acquire) || !analysis_error.empty()) return {};
    if (!full_gstats) return digest.Name(g);
    const auto& gs = gstats->goroutines();
    auto it = std::lower_bound(gs.begin(), gs.end(), g,
                               [](const analysis::GoroutineSummary& s, uint64_t v) {
                                 return s.id < v;
                               });
    if (it == gs.end() || it->id != g) return {};
    return it->name;
  }
};

// LogMemory(): with TRACETOOL_MEMLOG set, where the memory goes (MiB) at a phase of loading:
// the heap in use (malloc's count), the resident set, and the timeline index by structure.
void LogMemory(const char* phase, const Model& m) {
  static const bool on = getenv("TRACETOOL_MEMLOG") != nullptr;
  if (!on) return;
  const struct mallinfo2 mi = mallinfo2();
  long rss_kib = 0, anon_kib = 0, file_kib = 0;
  if (FILE* f = fopen("/proc/self/status", "r")) {
    char line[256];
    while (fgets(line, sizeof(line), f) != nullptr) {
      if (sscanf(line, "VmRSS: %ld", &rss_kib) == 1) continue;
      if (sscanf(line, "RssAnon: %ld", &anon_kib) == 1) continue;
      if (sscanf(line, "RssFile: %ld", &file_kib) == 1) break;
    }
    fclose(f);
  }
  const analysis::Timeline::MemoryUse u = m.timeline.Memory();
  auto mib = [](uint64_t b) { return static_cast<double>(b) / (1 << 20); };
  fprintf(stderr,
          "tracetool: memory %s: heap %.1f, rss %.1f (anon %.1f, file %.1f); timeline: tracks %.1f, block tables %.1f, "
          "pyramids %.1f, changes %.1f in memory + %.1f in the index file, orders %.1f; "
          "counters %.1f, goroutine digest %.1f MiB\n",
          phase, mib(mi.uordblks + mi.hblkhd), static_cast<double>(rss_kib) / 1024,
          static_cast<double>(anon_kib) / 1024, static_cast<double>(file_kib) / 1024, mib(u.tracks),
          mib(u.block_tables), mib(u.pyramids), mib(u.changes_memory), mib(u.changes_file),
          mib(u.orders), m.counters ? mib(m.counters->MemoryBytes()) : 0.0,
          mib(m.digest.MemoryBytes()));
}

void StartAnalyses(Model* m, const parser::Reader* r) {
  m->areader = r;
  m->gstats = std::make_unique<analysis::GoroutineStats>(r);
  if (!m->full_gstats) m->digest.Attach(m->gstats.get());
  m->ann = std::make_unique<analysis::Annotations>(r);
  m->mu = std::make_unique<analysis::MutatorUtilization>(
      analysis::UtilFlags::kSTW | analysis::UtilFlags::kBackground | analysis::UtilFlags::kAssist);
  m->schedlat = std::make_unique<analysis::SchedLatency>(r);
  for (ProfileMode mode : kModes) {
    m->profiles.push_back(std::make_unique<analysis::BlockingProfile>(mode));
  }
}

void AnalysesOnEvent(Model* m, const parser::Event& ev) {
  m->gstats->OnEvent(ev);
  m->ann->OnEvent(ev);
  m->schedlat->OnEvent(ev);
  analysis::GoStateMachine::OnEvent(ev, m);
  // A trace whose GC events name a P outside GOMAXPROCS has no MMU (Go's page crashes on it);
  // the rest of the UI still works.
  if (m->mmu_ok && !m->mu->OnEvent(ev, *m->areader).ok()) m->mmu_ok = false;
}

void FinishAnalyses(Model* m, int64_t last_ts) {
  m->gstats->Finish();
  m->ann->Finish(*m->gstats, last_ts);
  if (!m->full_gstats) {
    m->digest.Finish(*m->gstats, last_ts);
    m->gstats.reset();
  }
  if (m->mmu_ok) {
    m->mu->Finish(last_ts);
    m->mmu = std::make_unique<analysis::MMUCurve>(m->mu->series());
  }
  m->groups = analysis::GroupsJson(m->full_gstats
                                        ? analysis::GroupGoroutines(m->gstats->goroutines())
                                        : m->digest.groups());
  m->schedlat_json = analysis::SchedLatencyJson(*m->schedlat);
}

// Pass 1: the timeline index (and, when `analyses`, everything else in the same pass).
Status LoadTimeline(const Options& opts, Model* m, bool analyses) {
  const auto t0 = std::chrono::steady_clock::now();
  m->name = opts.trace == "-" ? "<stdin>" : opts.trace;
  std::unique_ptr<parser::Input> input;
  TT_RETURN_IF_ERROR(parser::Input::Open(opts.trace, &input));
  fprintf(stderr, "tracetool: indexing %s...\n", m->name.c_str());
  TT_RETURN_IF_ERROR(parser::Reader::Open(std::move(input), &m->reader));
  if (analyses) StartAnalyses(m, m->reader.get());
  const uint64_t total = m->reader->stats().events;
  // Counter cells: 1 µs, coarser for big traces (about 100 000 events per µs of grid), which
  // bounds each series to ~duration / grid cells.
  m->counters = std::make_unique<analysis::Counters>(
      1000 * static_cast<int64_t>(1 + total / 100'000));
  parser::Event ev;
  while (true) {
    bool done = false;
    TT_RETURN_IF_ERROR(m->reader->Next(&ev, &done));
    if (done) break;
    ++m->events;
    m->last_ts = ev.ts;
    m->timeline.OnEvent(ev);
    m->counters->OnEvent(ev);
    if (ev.type == parser::EventType::kProcStart && m->threads.size() < 1'000'000) {
      m->threads.insert(ev.args[0]);
    }
    if (analyses) AnalysesOnEvent(m, ev);
    if ((m->events & 0xfffff) == 0 && total > 0) {
      fprintf(stderr, "\rtracetool: indexing: %" PRIu64 "/%" PRIu64 " events (%d%%)", m->events,
              total, static_cast<int>(100 * m->events / total));
    }
  }
  if (total > 0xfffff) fprintf(stderr, "\n");
  LogMemory("read", *m);
  m->timeline.Finish(m->last_ts, [m](const char* phase) { LogMemory(phase, *m); });
  m->counters->Finish(m->last_ts);
  if (analyses) {
    FinishAnalyses(m, m->last_ts);
    m->ready.store(true, std::memory_order_release);
  }
  m->index_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Status();
}

// Pass 2, on its own thread: a second reader over the same file feeds the analyses.
void LoadAnalyses(std::string path, Model* m) {
  const auto t0 = std::chrono::steady_clock::now();
  auto run = [&]() -> Status {
    std::unique_ptr<parser::Input> input;
    TT_RETURN_IF_ERROR(parser::Input::Open(path, &input));
    TT_RETURN_IF_ERROR(parser::Reader::Open(std::move(input), &m->areader_owned));
    StartAnalyses(m, m->areader_owned.get());
    const uint64_t total = std::max<uint64_t>(1, m->events);
    uint64_t n = 0;
    int64_t last = 0;
    parser::Event ev;
    while (true) {
      bool done = false;
      TT_RETURN_IF_ERROR(m->areader_owned->Next(&ev, &done));
      if (done) break;
      last = ev.ts;
      AnalysesOnEvent(m, ev);
      if ((++n & 0xffff) == 0) {
        m->progress.store(static_cast<int>(100 * n / total), std::memory_order_relaxed);
      }
    }
    LogMemory("analyses read", *m);
    {
      // FinishAnalyses() turns the per-goroutine state into summaries, freeing the former as it
      // allocates the latter. Freed chunks amid the heap stay resident until malloc_trim(), so
      // without this both would count at the peak: give them back as they come free.
      std::atomic<bool> stop{false};
      std::thread trimmer([&stop] {
        while (!stop.load(std::memory_order_relaxed)) {
          malloc_trim(0);
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      });
      FinishAnalyses(m, last);
      stop.store(true, std::memory_order_relaxed);
      trimmer.join();
    }
    malloc_trim(0);
    return Status();
  };
  Status st = run();
  if (!st.ok()) m->analysis_error = st.message();
  m->analysis_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  LogMemory("analyses done", *m);
  m->ready.store(true, std::memory_order_release);
  fprintf(stderr, "tracetool: analyses %s in %.2f s\n", st.ok() ? "ready" : "failed",
          m->analysis_seconds);
}

std::string OverviewJson(const Model& m) {
  const parser::ParseStats& s = m.reader->stats();
  json warnings = json::array();
  if (s.futile_removed) {
    warnings.push_back(std::to_string(s.futile_removed) +
                       " futile wake-up events removed (Go's reader drops them too)");
  }
  if (s.stack_redefined) {
    warnings.push_back(std::to_string(s.stack_redefined) +
                       " stack records redefined an earlier stack id (the last one wins)");
  }
  const bool ready = m.ready.load(std::memory_order_acquire);
  int goroutines = m.timeline.TrackCount(Lens::kG) - analysis::Timeline::kLanes;
  json o = {
      {"file", m.name},
      {"version", m.reader->version()},
      {"bytes", s.bytes},
      {"events", m.events},
      {"duration_ns", m.last_ts},
      {"goroutines", goroutines},
      {"procs", m.timeline.proc_count()},
      {"threads", m.threads.size()},
      {"gc_count", m.timeline.gc_count()},
      {"strings", s.strings},
      {"stacks", s.stacks},
      {"cpu_samples", s.cpu_samples},
      {"index_bytes", m.timeline.MemoryBytes() + m.counters->MemoryBytes()},
      {"load_seconds", m.index_seconds},
      {"analyses_ready", ready},
      {"analyses_progress", m.progress.load(std::memory_order_relaxed)},
  };
  if (ready && m.analysis_error.empty()) {
    o["tasks"] = m.ann->tasks().size();
    o["regions"] = m.ann->region_instances().size();
    o["logs"] = m.ann->logs().size();
    o["analysis_seconds"] = m.analysis_seconds;
    if (!m.mmu_ok) warnings.push_back("GC events name a P outside GOMAXPROCS: no MMU for this trace");
  }
  if (ready && !m.analysis_error.empty()) warnings.push_back("analyses failed: " + m.analysis_error);
  o["warnings"] = warnings;
  return o.dump();
}

// ---- request parameters: anything malformed is a 400 with a message ----

struct BadRequest {
  std::string message;
};
// A failure of the server, not of the request (the trace file went away): 500 with a message.
struct ServerError {
  std::string message;
};
// Thrown by handlers that need pass 2 before it finished: answered 200 {"computing": true, ...} so
// the page can say so and retry (a 503 would be logged as an error by the browser).
struct NotReady {};

void NeedAnalyses(const Model& m) {
  if (!m.ready.load(std::memory_order_acquire)) throw NotReady{};
  if (!m.analysis_error.empty()) throw BadRequest{"analyses failed: " + m.analysis_error};
}

int64_t IntParam(const httplib::Request& req, const char* key, int64_t def, int64_t lo,
                 int64_t hi) {
  if (!req.has_param(key)) return def;
  const std::string v = req.get_param_value(key);
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) {
    throw BadRequest{std::string("parameter ") + key + ": not an integer: " + v};
  }
  if (out < lo || out > hi) {
    throw BadRequest{std::string("parameter ") + key + ": " + v + " out of range [" +
                     std::to_string(lo) + ", " + std::to_string(hi) + "]"};
  }
  return out;
}

Lens LensParam(const httplib::Request& req) {
  const std::string v = req.has_param("lens") ? req.get_param_value("lens") : "g";
  if (v == "g") return Lens::kG;
  if (v == "p") return Lens::kP;
  if (v == "m") return Lens::kM;
  throw BadRequest{"parameter lens: want g, p or m, got " + v};
}

int ModeParam(const httplib::Request& req) {
  const std::string v = req.has_param("mode") ? req.get_param_value("mode") : "";
  for (int i = 0; i < kModeCount; ++i) {
    if (v == kModeNames[i]) return i;
  }
  throw BadRequest{"parameter mode: want net, sync, syscall, sched or schedlat, got " + v};
}

json FramesJson(const parser::Reader& r, uint32_t stack) {
  json frames = json::array();
  for (const parser::Frame& f : r.Stack(stack)) {
    char pc[24];
    snprintf(pc, sizeof(pc), "0x%" PRIx64, f.pc);
    frames.push_back({{"fn", r.String(f.fn)}, {"file", r.String(f.file)}, {"line", f.line},
                      {"pc", pc}});
  }
  return frames;
}

std::string TrackLabel(const Model& m, Lens lens, int track) {
  analysis::TrackInfo info = m.timeline.Info(lens, track);
  if (lens == Lens::kG && track >= analysis::Timeline::kLanes) {
    std::string_view fn = m.GoName(info.id);
    if (!fn.empty()) info.label += " " + std::string(fn);
  }
  return info.label;
}

// /api/spans: one flat array, 8 numbers per span: track, start, end, kind, event type, aux,
// count, fill. Written by hand: this is the hot path of pan and zoom.
std::string SpansJson(const Model& m, const httplib::Request& req) {
  const Lens lens = LensParam(req);
  const int total = m.timeline.TrackCount(lens);
  const int64_t end = m.timeline.end_ts();
  const int first = static_cast<int>(IntParam(req, "first", 0, 0, std::max(0, total)));
  const int count = static_cast<int>(IntParam(req, "count", 50, 0, 2000));
  const int64_t t0 = IntParam(req, "t0", 0, INT64_MIN / 4, INT64_MAX / 4);
  const int64_t t1 = IntParam(req, "t1", end, INT64_MIN / 4, INT64_MAX / 4);
  const int width = static_cast<int>(IntParam(req, "width", 1000, 1, 20000));
  if (t1 <= t0) throw BadRequest{"parameters t0, t1: want t0 < t1"};
  std::string out;
  out.reserve(64 * 1024);
  out += "{\"t0\":" + std::to_string(t0) + ",\"t1\":" + std::to_string(t1) +
         ",\"first\":" + std::to_string(first) + ",\"spans\":[";
  bool comma = false;
  char buf[200];
  m.timeline.Query(lens, first, std::min(count, total - first), t0, t1, width,
                   [&](int track, const Span& s) {
                     int n = snprintf(buf, sizeof(buf),
                                      "%s%d,%" PRId64 ",%" PRId64 ",%d,%d,%" PRIu64 ",%u,%d",
                                      comma ? "," : "", track, s.start, s.end,
                                      static_cast<int>(s.kind), static_cast<int>(s.type), s.aux,
                                      s.count, static_cast<int>(s.fill));
                     out.append(buf, static_cast<size_t>(n));
                     comma = true;
                   });
  out += "]}";
  return out;
}

// /api/counters: per pixel column [ts, lo, hi] of each counter series, and each series' maximum.
std::string CountersJson(const Model& m, const httplib::Request& req) {
  const int64_t end = m.timeline.end_ts();
  const int64_t t0 = IntParam(req, "t0", 0, INT64_MIN / 4, INT64_MAX / 4);
  const int64_t t1 = IntParam(req, "t1", end, INT64_MIN / 4, INT64_MAX / 4);
  const int width = static_cast<int>(IntParam(req, "width", 1000, 1, 20000));
  if (t1 <= t0) throw BadRequest{"parameters t0, t1: want t0 < t1"};
  static constexpr const char* kNames[] = {"running", "runnable", "heap"};
  std::string out = "{\"series\":{";
  std::string maxes = "\"max\":{";
  std::vector<analysis::Counters::Cell> cells;
  char buf[96];
  for (int s = 0; s < analysis::Counters::kSeriesCount; ++s) {
    const auto series = static_cast<analysis::Counters::Series>(s);
    cells.clear();
    m.counters->Query(series, t0, t1, width, &cells);
    out += std::string(s ? "," : "") + "\"" + kNames[s] + "\":[";
    for (size_t i = 0; i < cells.size(); ++i) {
      int n = snprintf(buf, sizeof(buf), "%s%" PRId64 ",%" PRId64 ",%" PRId64, i ? "," : "",
                       cells[i].ts, cells[i].lo, cells[i].hi);
      out.append(buf, static_cast<size_t>(n));
    }
    out += "]";
    maxes += std::string(s ? "," : "") + "\"" + kNames[s] + "\":" + std::to_string(m.counters->Max(series));
  }
  return out + "}," + maxes + "}}";
}

std::string TracksJson(const Model& m, const httplib::Request& req) {
  const Lens lens = LensParam(req);
  const int total = m.timeline.TrackCount(lens);
  const int first = static_cast<int>(IntParam(req, "first", 0, 0, std::max(0, total)));
  const int count = static_cast<int>(IntParam(req, "count", 200, 0, 5000));
  json tracks = json::array();
  for (int t = first; t < std::min(total, first + count); ++t) {
    analysis::TrackInfo info = m.timeline.Info(lens, t);
    tracks.push_back({{"i", t}, {"id", info.id}, {"label", TrackLabel(m, lens, t)},
                      {"lane", t < analysis::Timeline::kLanes}});
  }
  // Goroutine labels carry start functions only once the analyses are ready ("named").
  return json{{"total", total},
              {"lanes", analysis::Timeline::kLanes},
              {"named", m.ready.load(std::memory_order_acquire)},
              {"tracks", tracks}}
      .dump();
}

std::string SpanDetailJson(const Model& m, const httplib::Request& req) {
  const Lens lens = LensParam(req);
  const int total = m.timeline.TrackCount(lens);
  const int track = static_cast<int>(IntParam(req, "track", 0, 0, std::max(0, total - 1)));
  const int64_t ts = IntParam(req, "ts", 0, 0, INT64_MAX / 4);
  const int64_t slop = IntParam(req, "slop", 0, 0, INT64_MAX / 4);
  Span s = m.timeline.SpanAt(lens, track, ts, slop);
  if (s.kind == SpanKind::kNone) return json{{"found", false}}.dump();
  analysis::TrackInfo info = m.timeline.Info(lens, track);
  json j = {{"found", true},
            {"track", track},
            {"track_label", TrackLabel(m, lens, track)},
            {"kind", analysis::SpanKindName(s.kind)},
            {"event", format::Spec(s.type).name},
            {"start_ns", s.start},
            {"end_ns", s.end},
            {"duration_ns", s.end - s.start},
            {"stack", FramesJson(*m.reader, s.stack)}};
  auto gref = [&](uint64_t g) {
    return json{{"g", g}, {"name", m.GoName(g)}, {"track", m.timeline.TrackOf(Lens::kG, g)}};
  };
  if (lens == Lens::kG && track >= analysis::Timeline::kLanes) {
    j["goroutine"] = gref(info.id);
    if (s.kind == SpanKind::kRunning) j["p"] = s.aux;
    if (s.kind == SpanKind::kRunnable && s.aux != 0) j["woken_by"] = gref(s.aux);
  } else if (lens == Lens::kP && track >= analysis::Timeline::kLanes) {
    j["p"] = info.id;
    j["goroutine"] = gref(s.aux);
  } else if (lens == Lens::kM && track >= analysis::Timeline::kLanes) {
    j["thread"] = info.id;
    j["p"] = s.aux;
  } else if (s.kind == SpanKind::kInstant) {
    j["goroutine"] = gref(s.aux);
  } else if (s.kind == SpanKind::kSTW) {
    j["stw_kind"] = s.aux;
  }
  return j.dump();
}

// /api/find?q=: goroutines by id or by (part of) their start function; at most 100.
std::string FindJson(const Model& m, const httplib::Request& req) {
  const std::string q = req.has_param("q") ? req.get_param_value("q") : "";
  if (q.empty()) throw BadRequest{"parameter q: empty"};
  json hits = json::array();
  uint64_t id = 0;
  std::string_view qv = q;
  if (!qv.empty() && (qv[0] == 'G' || qv[0] == 'g')) qv.remove_prefix(1);
  auto [p, ec] = std::from_chars(qv.data(), qv.data() + qv.size(), id);
  if (ec == std::errc() && p == qv.data() + qv.size()) {
    int t = m.timeline.TrackOf(Lens::kG, id);
    if (t >= 0) hits.push_back({{"g", id}, {"name", m.GoName(id)}, {"track", t}});
  }
  // Function names come from the goroutine analysis: until it is ready, ids only.
  const bool names = m.ready.load(std::memory_order_acquire) && m.analysis_error.empty();
  auto consider = [&](uint64_t g, std::string_view name) {
    if (hits.size() >= 100) return false;
    if (name.find(q) != std::string_view::npos) {
      hits.push_back({{"g", g}, {"name", name}, {"track", m.timeline.TrackOf(Lens::kG, g)}});
    }
    return true;
  };
  if (names && m.full_gstats) {
    for (const auto& g : m.gstats->goroutines()) {
      if (!consider(g.id, g.name)) break;
    }
  } else if (names) {
    m.digest.ForEach(consider);
  }
  return json{{"hits", hits}, {"names_searched", names}}.dump();
}

// /api/profile?mode=: the profile as a flame-graph tree (root → leaf) plus a top table.
std::string ProfileJson(const Model& m, int mode) {
  NeedAnalyses(m);
  struct Node {
    std::string fn;
    std::string file;
    uint64_t line = 0;
    int64_t value = 0;
    uint64_t count = 0;
    std::map<std::string, int> children;  // function → index
  };
  std::vector<Node> nodes(1);
  nodes[0].fn = "all";
  struct Top {
    int64_t flat = 0, cum = 0;
    std::string file;
  };
  std::unordered_map<std::string, Top> top;
  int64_t total = 0;
  const parser::Reader& r = *m.areader;
  for (const auto& [stack, rec] : m.profiles[mode]->records()) {
    std::span<const parser::Frame> frames = r.Stack(stack);
    if (frames.empty()) continue;
    total += rec.delay_ns;
    nodes[0].value += rec.delay_ns;
    nodes[0].count += rec.count;
    int cur = 0;
    std::set<std::string> seen;
    for (size_t i = frames.size(); i-- > 0;) {
      const parser::Frame& f = frames[i];
      std::string fn(r.String(f.fn));
      if (fn.empty()) {
        char buf[24];
        snprintf(buf, sizeof(buf), "0x%" PRIx64, f.pc);
        fn = buf;
      }
      std::string file(r.String(f.file));
      const std::string& key = fn;  // one frame per function, as pprof's flame graph
      auto it = nodes[cur].children.find(key);
      int next;
      if (it == nodes[cur].children.end()) {
        next = static_cast<int>(nodes.size());
        nodes[cur].children.emplace(key, next);
        Node n;
        n.fn = fn;
        n.file = file;
        n.line = f.line;
        nodes.push_back(std::move(n));
      } else {
        next = it->second;
      }
      nodes[next].value += rec.delay_ns;
      nodes[next].count += rec.count;
      cur = next;
      Top& t = top[fn];
      if (t.file.empty()) t.file = file;
      if (seen.insert(fn).second) t.cum += rec.delay_ns;
      if (i == 0) t.flat += rec.delay_ns;
    }
  }
  // Tree as nested arrays: [fn, file, line, value, count, [children…]], children largest first.
  std::function<json(int)> tree = [&](int i) {
    const Node& n = nodes[i];
    std::vector<int> kids;
    for (const auto& [k, c] : n.children) kids.push_back(c);
    std::sort(kids.begin(), kids.end(),
              [&](int a, int b) { return nodes[a].value > nodes[b].value; });
    json ch = json::array();
    for (int c : kids) ch.push_back(tree(c));
    return json::array({n.fn, n.file, n.line, n.value, n.count, ch});
  };
  std::vector<std::pair<std::string, Top>> rows(top.begin(), top.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second.flat != b.second.flat ? a.second.flat > b.second.flat
                                          : a.second.cum > b.second.cum;
  });
  if (rows.size() > 200) rows.resize(200);
  json tj = json::array();
  for (const auto& [fn, t] : rows) {
    tj.push_back({{"fn", fn}, {"file", t.file}, {"flat_ns", t.flat}, {"cum_ns", t.cum}});
  }
  return json{{"mode", kModeNames[mode]}, {"total_ns", total}, {"tree", tree(0)}, {"top", tj}}
      .dump();
}

std::string MmuJson(const Model& m, const httplib::Request& req) {
  NeedAnalyses(m);
  if (!m.mmu) throw BadRequest{"this trace has no MMU (GC events on a P outside GOMAXPROCS)"};
  std::vector<int64_t> windows;
  if (req.has_param("window")) {
    windows.push_back(IntParam(req, "window", 0, 1, INT64_MAX / 4));
  }
  return analysis::MMUJson(*m.mmu,
                           analysis::UtilFlags::kSTW | analysis::UtilFlags::kBackground |
                               analysis::UtilFlags::kAssist,
                           windows);
}

// Gzip at level 1: the timeline's JSON compresses ~10× in a few ms. httplib would pick brotli at
// its default quality (11) for JSON, which takes seconds on a 2 MB response; our content type
// carries a charset, which httplib does not compress, so this is the only encoding applied.
void SetJson(const httplib::Request& req, httplib::Response& res, std::string body) {
  constexpr const char* kType = "application/json; charset=utf-8";
  if (body.size() < 8192 || req.get_header_value("Accept-Encoding").find("gzip") == std::string::npos) {
    res.set_content(std::move(body), kType);
    return;
  }
  z_stream zs{};
  if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    res.set_content(std::move(body), kType);
    return;
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(body.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(body.data());
  zs.avail_in = static_cast<uInt>(body.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const bool ok = deflate(&zs, Z_FINISH) == Z_STREAM_END;
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (!ok) {
    res.set_content(std::move(body), kType);
    return;
  }
  res.set_content(std::move(out), kType);
  res.set_header("Content-Encoding", "gzip");
  res.set_header("Vary", "Accept-Encoding");
}

// /api/goroutines?group=G[&first=F&count=N | &id=ID]: the goroutines of a group, N (default
// 1000) at a time from the F-th in id order, or just goroutine ID. Computed from the trace file
// on request (GoroutineDigest) and cached; memory follows N, not the group's size (a group of the
// 120 MB benchmark trace has a million goroutines). "total" and "first" say where the page is.
constexpr int64_t kGroupPageDefault = 1000;

std::string PageJson(const std::string& goroutines_json, size_t total, int64_t first) {
  // GoroutinesJson() is one object: put the page's place in front of its fields.
  return "{\"total\":" + std::to_string(total) + ",\"first\":" + std::to_string(first) + "," +
         goroutines_json.substr(1);
}

std::string GroupPage(Model* m, const httplib::Request& req) {
  const std::string group = req.get_param_value("group");
  const std::string key = group == "all" ? "" : group;
  const int64_t first = IntParam(req, "first", 0, 0, INT64_MAX / 4);
  const int64_t count = IntParam(req, "count", kGroupPageDefault, 1, 100000);
  const bool one = req.has_param("id");
  const uint64_t id = static_cast<uint64_t>(IntParam(req, "id", 0, 0, INT64_MAX));
  if (m->full_gstats) {  // stdin: every summary is in memory
    auto gs = analysis::SelectGroup(m->gstats->goroutines(), key);
    if (gs.empty()) throw BadRequest{"parameter group: no goroutine group " + group};
    const size_t total = gs.size();
    if (one) {
      std::erase_if(gs, [&](const analysis::GoroutineSummary& g) { return g.id != id; });
      if (gs.empty()) throw BadRequest{"parameter id: no goroutine " + std::to_string(id) + " in group " + group};
      return PageJson(analysis::GoroutinesJson(gs), total, 0);
    }
    const size_t lo = std::min(gs.size(), static_cast<size_t>(first));
    const size_t hi = std::min(gs.size(), lo + static_cast<size_t>(count));
    gs = std::vector<analysis::GoroutineSummary>(gs.begin() + lo, gs.begin() + hi);
    return PageJson(analysis::GoroutinesJson(gs), total, first);
  }
  std::vector<uint64_t> ids = m->digest.Select(key);
  if (ids.empty()) throw BadRequest{"parameter group: no goroutine group " + group};
  const size_t total = ids.size();
  if (one) {
    if (!std::binary_search(ids.begin(), ids.end(), id)) {
      throw BadRequest{"parameter id: no goroutine " + std::to_string(id) + " in group " + group};
    }
    ids = {id};
  } else {
    const size_t lo = std::min(ids.size(), static_cast<size_t>(first));
    const size_t hi = std::min(ids.size(), lo + static_cast<size_t>(count));
    ids = std::vector<uint64_t>(ids.begin() + lo, ids.begin() + hi);
  }
  const std::string cache_key = key + "\n" + (one ? "id " + std::to_string(id)
                                                   : std::to_string(first) + " " + std::to_string(count));
  std::lock_guard<std::mutex> lock(m->detail_mu);
  for (auto it = m->detail_cache.begin(); it != m->detail_cache.end(); ++it) {
    if (it->first == cache_key) {
      m->detail_cache.splice(m->detail_cache.begin(), m->detail_cache, it);
      return it->second;
    }
  }
  std::string out;
  if (!ids.empty()) {
    // On a thread of its own: glibc gives each thread its malloc arena and keeps what the reader
    // freed there resident, so re-reads on the pool's threads grew RSS by ~2× the trace each (one
    // arena per thread). An exited thread's arena is reused by the next one, and trimmed here.
    Status st;
    std::thread reread([&] { st = GroupDetailJson(m->path, ids, m->digest.with_regions(), &out); });
    reread.join();
    malloc_trim(0);
    if (!st.ok()) throw ServerError{"reading the trace again for the group's page: " + st.message()};
  } else {
    out = analysis::GoroutinesJson({});
  }
  out = PageJson(out, total, one ? 0 : first);
  m->detail_cache.emplace_front(cache_key, out);
  size_t bytes = 0, n = 0;
  for (auto it = m->detail_cache.begin(); it != m->detail_cache.end();) {
    bytes += it->second.size();
    if (++n > Model::kDetailCacheEntries || (n > 1 && bytes > Model::kDetailCacheBytes)) {
      it = m->detail_cache.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

const char* ContentType(std::string_view path) {
  auto ends = [&](std::string_view s) {
    return path.size() >= s.size() && path.substr(path.size() - s.size()) == s;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]" ||
         host.rfind("127.", 0) == 0;
}

httplib::Server* g_server = nullptr;

void OnSignal(int) {
  if (g_server != nullptr) g_server->stop();
}

}  // namespace

int ServeHttp(const Options& opts) {
  // ADDR: ":port", "host:port", "[v6]:port".
  std::string host, port_s;
  const std::string& addr = opts.http;
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos) {
    fprintf(stderr, "tracetool: -http=%s: want [host]:port, e.g. :8080 or 127.0.0.1:0\n",
            addr.c_str());
    return kExitUsage;
  }
  host = addr.substr(0, colon);
  port_s = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  auto [p, ec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), port);
  if (ec != std::errc() || p != port_s.data() + port_s.size() || port < 0 || port > 65535) {
    fprintf(stderr, "tracetool: -http=%s: bad port %s\n", addr.c_str(), port_s.c_str());
    return kExitUsage;
  }
  if (host.empty()) host = "127.0.0.1";
  if (!IsLoopback(host)) {
    fprintf(stderr,
            "tracetool: warning: serving on %s, which is not a loopback address: anyone who can "
            "reach it can read this trace\n",
            host.c_str());
  }

  auto m = std::make_unique<Model>();
  const bool one_pass = opts.trace == "-";  // stdin cannot be read twice
  m->full_gstats = opts.trace == "-";
  m->path = opts.trace;
  Status st = LoadTimeline(opts, m.get(), one_pass);
  if (!st.ok()) {
    fprintf(stderr, "tracetool: %s: %s\n", m->name.c_str(), st.message().c_str());
    return st.tag() == ErrorTag::kIo ? kExitUsage : kExitBadTrace;
  }
  fprintf(stderr,
          "tracetool: indexed %" PRIu64 " events, %d goroutines in %.2f s (timeline index %.1f "
          "MiB)%s\n",
          m->events, m->timeline.TrackCount(Lens::kG) - analysis::Timeline::kLanes,
          m->index_seconds, static_cast<double>(m->timeline.MemoryBytes()) / (1 << 20),
          one_pass ? "" : "; computing the analyses in the background");
  // Finish() freed the build-time scratch (unencoded tails, id maps) in the middle of the heap:
  // give those pages back before the analyses allocate theirs.
  malloc_trim(0);
  LogMemory("indexed", *m);
  std::thread analyses;
  if (!one_pass) analyses = std::thread(LoadAnalyses, opts.trace, m.get());

  httplib::Server srv;
  const Model& model = *m;
  auto model_progress = [&model] { return model.progress.load(std::memory_order_relaxed); };
  std::string bound_host = host;
  int bound_port = 0;
  // DNS rebinding: only our own names may appear in Host.
  srv.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    std::string h = req.get_header_value("Host");
    std::string name = h;
    if (!h.empty() && h.front() == '[') {
      name = h.substr(0, h.find(']') + 1);
    } else if (size_t c = h.rfind(':'); c != std::string::npos) {
      name = h.substr(0, c);
    }
    std::string bare = name.size() >= 2 && name.front() == '[' ? name.substr(1, name.size() - 2)
                                                               : name;
    // DNS rebinding needs a host *name*; IP literals (how a remote user reaches a server bound
    // to 0.0.0.0) are fine.
    const bool ip_literal =
        !bare.empty() && (bare.find(':') != std::string::npos ||
                          bare.find_first_not_of("0123456789.") == std::string::npos);
    const bool ok = IsLoopback(bare) || bare == bound_host || ip_literal;
    if (!ok) {
      res.status = 403;
      res.set_content("tracetool: refused: Host header " + h +
                          " is not this server (DNS rebinding protection)\n",
                      "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  auto api = [&](const char* path, std::function<std::string(const httplib::Request&)> fn,
                 const char* type = "application/json") {
    srv.Get(path, [fn, type, model_progress](const httplib::Request& req, httplib::Response& res) {
      try {
        const auto t0 = std::chrono::steady_clock::now();
        if (std::string_view(type) == "application/json") {
          SetJson(req, res, fn(req));
        } else {
          res.set_content(fn(req), type);
        }
        res.set_header("Cache-Control", "no-store");
        // The time spent answering (the benchmarks and the browser's devtools read it).
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        char timing[48];
        snprintf(timing, sizeof(timing), "app;dur=%.3f", ms);
        res.set_header("Server-Timing", timing);
      } catch (const BadRequest& e) {
        res.status = 400;
        res.set_content("tracetool: " + e.message + "\n", "text/plain");
      } catch (const ServerError& e) {
        res.status = 500;
        res.set_content("tracetool: " + e.message + "\n", "text/plain");
      } catch (const NotReady&) {
        res.set_content(json{{"computing", true},
                             {"progress", model_progress()}}.dump(),
                        "application/json; charset=utf-8");
        res.set_header("Cache-Control", "no-store");
      }
    });
  };
  api("/api/overview", [&](const httplib::Request&) { return OverviewJson(model); });
  api("/api/tracks", [&](const httplib::Request& req) { return TracksJson(model, req); });
  api("/api/spans", [&](const httplib::Request& req) { return SpansJson(model, req); });
  api("/api/counters", [&](const httplib::Request& req) { return CountersJson(model, req); });
  api("/api/span", [&](const httplib::Request& req) { return SpanDetailJson(model, req); });
  api("/api/find", [&](const httplib::Request& req) { return FindJson(model, req); });
  api("/api/goroutines", [&](const httplib::Request& req) -> std::string {
    NeedAnalyses(model);
    if (!req.has_param("group")) return model.groups;
    return GroupPage(m.get(), req);
  });
  api("/api/profile", [&](const httplib::Request& req) {
    return ProfileJson(model, ModeParam(req));
  });
  srv.Get("/api/pprof", [&](const httplib::Request& req, httplib::Response& res) {
    try {
      const int mode = ModeParam(req);
      if (!model.ready.load(std::memory_order_acquire)) {
        res.status = 503;
        res.set_content("tracetool: the analyses are still being computed; retry shortly\n",
                        "text/plain");
        return;
      }
      NeedAnalyses(model);
      res.set_content(BuildPprof(*model.areader, *model.profiles[mode]),
                      "application/octet-stream");
      res.set_header("Content-Disposition",
                     std::string("attachment; filename=\"") + kModeNames[mode] + ".pprof.gz\"");
    } catch (const BadRequest& e) {
      res.status = 400;
      res.set_content("tracetool: " + e.message + "\n", "text/plain");
    }
  });
  api("/api/schedlat", [&](const httplib::Request&) {
    NeedAnalyses(model);
    return model.schedlat_json;
  });
  api("/api/tasks", [&](const httplib::Request& req) {
    NeedAnalyses(model);
    return req.has_param("type") ? analysis::TasksJson(*model.ann, req.get_param_value("type"))
                                 : analysis::TaskTypesJson(*model.ann);
  });
  api("/api/regions", [&](const httplib::Request& req) {
    NeedAnalyses(model);
    return req.has_param("type") ? analysis::RegionsJson(*model.ann, req.get_param_value("type"))
                                 : analysis::RegionTypesJson(*model.ann);
  });
  api("/api/logs", [&](const httplib::Request& req) {
    NeedAnalyses(model);
    return analysis::LogsJson(*model.ann, req.has_param("q") ? req.get_param_value("q") : "");
  });
  api("/api/mmu", [&](const httplib::Request& req) { return MmuJson(model, req); });
  srv.Get("/api/.*", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 404;
    res.set_content("tracetool: no API " + req.path + "\n", "text/plain");
  });
  // Assets; every other path is the single-page app (its router reads the path).
  srv.Get("/.*", [](const httplib::Request& req, httplib::Response& res) {
    std::string path = req.path;
    for (size_t i = 0; i < kAssetCount; ++i) {
      if (path == kAssets[i].path) {
        res.set_content(reinterpret_cast<const char*>(kAssets[i].data), kAssets[i].size,
                        ContentType(path));
        return;
      }
    }
    for (size_t i = 0; i < kAssetCount; ++i) {
      if (std::string_view(kAssets[i].path) == "/index.html") {
        res.set_content(reinterpret_cast<const char*>(kAssets[i].data), kAssets[i].size,
                        ContentType(".html"));
        return;
      }
    }
    res.status = 404;
  });

  if (port == 0) {
    bound_port = srv.bind_to_any_port(host);
  } else {
    bound_port = srv.bind_to_port(host, port) ? port : -1;
  }
  if (bound_port <= 0) {
    fprintf(stderr, "tracetool: -http=%s: cannot listen on %s:%d\n", addr.c_str(), host.c_str(),
            port);
    return kExitUsage;
  }
  const bool v6 = host.find(':') != std::string::npos;
  fprintf(stderr, "tracetool: serving the web UI at http://%s%s%s:%d/ (Ctrl-C stops)\n",
          v6 ? "[" : "", host.c_str(), v6 ? "]" : "", bound_port);
  fflush(stderr);
  g_server = &srv;
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  srv.listen_after_bind();
  g_server = nullptr;
  if (analyses.joinable()) {
    if (!m->ready.load(std::memory_order_acquire)) {
      // Interrupted while pass 2 runs: nothing to save, do not wait for it.
      fflush(stderr);
      std::_Exit(kExitOk);
    }
    analyses.join();
  }
  return kExitOk;
}

}  // namespace tracetool::cli

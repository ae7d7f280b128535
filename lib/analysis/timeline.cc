// How the index is laid out and walked (see timeline.h for the why).
//
// Change: 16 bytes = ts (48 bits, ns: 78 hours) | kind (4) | opening event type (6), stack id,
// aux. A change with the same time as the previous one replaces it (a zero-length span is never
// visible). Pyramid level L ≥ 1 has one byte per 16^L changes: the dominant non-idle kind (low
// nibble) and how much of the node's time is not idle, in 16ths (high nibble, 0 = under 1/16).
#include "lib/analysis/timeline.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "lib/format/event_table.h"

namespace tracetool::analysis {

using parser::Event;
using parser::EventType;

namespace {

constexpr int kFanout = 16;
constexpr int kKinds = static_cast<int>(SpanKind::kCount);
constexpr uint64_t kTsMask = (uint64_t{1} << 48) - 1;

struct Change {
  uint64_t bits;  // ts | kind << 48 | type << 52
  uint32_t stack;
  uint32_t aux;
  int64_t ts() const { return static_cast<int64_t>(bits & kTsMask); }
  SpanKind kind() const { return static_cast<SpanKind>((bits >> 48) & 0xf); }
  EventType type() const { return static_cast<EventType>((bits >> 52) & 0x3f); }
};
static_assert(sizeof(Change) == 16);
static_assert(static_cast<int>(EventType::kCount) <= 64, "event type must fit 6 bits");

bool RealP(int64_t p) { return p >= 0 && p < format::kFakeP; }

// Changes are stored in blocks of kBlock (= kFanout: a level-1 pyramid node is one block). A
// block's first time sits in the track's block table (binary searches and pyramid node bounds
// read it without decoding); its bytes hold per change zigzag(ts − previous ts) << 10 |
// type << 4 | kind, stack id and aux as varints: about 7 bytes per change instead of 16. Blocks of all tracks go
// into one append-only arena of large chunks (no per-track buffers, no reallocation copies). A
// track keeps its newest changes (at most kBlock + kKeep) unencoded while the trace is read, since
// Set() rewrites the last one or two; Seal() encodes the rest. Reads decode a whole block into a
// per-thread one-block cache, so a walk over neighbouring changes decodes each block once.
constexpr size_t kBlock = kFanout;
constexpr size_t kKeep = 4;
constexpr size_t kMaxBlockBytes = kBlock * (10 + 5 + 5);

}  // namespace

namespace timeline_internal {

// Where a block of changes is: its first change's time (binary searches and pyramid node bounds
// read it without touching the arena) and the offset of its bytes.
struct BlockRef {
  int64_t base;
  uint64_t off;
};

// The encoded blocks of every track. They go to an unlinked temporary file ($TMPDIR, else /tmp)
// through a small write buffer, and are read through a read-only mapping after Seal(): the
// index then lives in the page cache, which the kernel can reclaim (and re-read) under memory
// pressure, instead of in the process's anonymous memory, which it cannot without swap. Pages
// a query touches are mapped into the process; after a query that brings the reads since the
// last release to kReleaseBlocks they are dropped again, so they never add much to the resident set (Finish() reads every block and keeps
// them mapped until it is done). Offsets are global; a block never
// straddles a kChunk boundary, so the file's bytes can be moved into memory chunks unchanged
// when the file cannot be written or mapped (then the index is anonymous memory as before).
class Arena {
 public:
  static constexpr size_t kChunk = size_t{1} << 20;
  static constexpr uint64_t kReleaseBlocks = 16384;

  Arena() {
    const char* dir = getenv("TMPDIR");
    if (dir == nullptr || *dir == '\0') dir = "/tmp";
    fd_ = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ >= 0) buf_.reset(new uint8_t[kChunk]);
  }
  ~Arena() {
    if (map_ != nullptr) munmap(map_, mapped_);
    if (fd_ >= 0) close(fd_);
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  uint64_t Append(const uint8_t* p, size_t n) {
    if ((size_ % kChunk) + n > kChunk) size_ += kChunk - size_ % kChunk;  // pad to the next chunk
    if (fd_ >= 0) {
      if (size_ - flushed_ + n > kChunk) Flush();
      if (fd_ >= 0) {
        // Padding may leave a gap at the start of the buffer: the buffer starts at flushed_.
        std::memcpy(buf_.get() + (size_ - flushed_), p, n);
        const uint64_t off = size_;
        size_ += n;
        return off;
      }
    }
    const size_t chunk = size_ / kChunk;
    while (chunks_.size() <= chunk) {
      // Not value-initialized: pages not yet written are not resident.
      chunks_.emplace_back(new uint8_t[kChunk]);
    }
    std::memcpy(chunks_[chunk].get() + size_ % kChunk, p, n);
    const uint64_t off = size_;
    size_ += n;
    return off;
  }
  // Seal(): no Append() afterwards; At() works from now on.
  void Seal() {
    if (fd_ < 0) return;
    Flush();
    if (fd_ < 0 || size_ == 0) return;
    void* m = mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
    if (m == MAP_FAILED) {
      ToMemory();
      return;
    }
    map_ = static_cast<uint8_t*>(m);
    mapped_ = size_;
    buf_.reset();
  }
  const uint8_t* At(uint64_t off) const {
    if (map_ != nullptr) return map_ + off;
    return chunks_[off / kChunk].get() + off % kChunk;
  }
  // Touch(): one more block read. MaybeRelease(), after a query: once kReleaseBlocks reads have
  // been made since the last release, the mapped pages are dropped from the resident set (they
  // stay in the page cache; a later read maps them again). Not within a query: it would fault
  // its own pages in again. Safe while other threads read: a dropped page of a read-only file
  // mapping faults back in unchanged.
  void Touch() const {
    if (map_ != nullptr && serving_) reads_.fetch_add(1, std::memory_order_relaxed);
  }
  void MaybeRelease() const {
    if (map_ == nullptr || !serving_) return;
    uint64_t n = reads_.load(std::memory_order_relaxed);
    if (n >= kReleaseBlocks &&
        reads_.compare_exchange_strong(n, 0, std::memory_order_relaxed)) {
      Release();
    }
  }
  void Release() const {
    if (map_ != nullptr) madvise(map_, mapped_, MADV_DONTNEED);
  }
  // Serve(): building is over (it reads every block once, track by track, which would fault
  // most pages back in after every release): from now on Touch() releases. Releasing during the
  // build was tried: every 1024 block reads it cut the peak of loading by 6 MB on a 30 MB trace
  // and cost 2.1 s of CPU (75% of the time to serve); the kernel's fault-around maps 64 KiB per
  // read, and a big track's blocks span the whole file.
  void Serve() {
    Release();
    serving_ = true;
  }
  uint64_t bytes() const { return size_; }
  // Bytes of the index held in anonymous memory (the rest is the file's).
  uint64_t memory_bytes() const {
    return chunks_.size() * kChunk + (buf_ ? kChunk : 0);
  }
  bool on_disk() const { return map_ != nullptr; }

  // The block tables of the goroutine tracks, moved here by Timeline::Finish() in one allocation
  // (reserved exactly: ChangeStores point into it).
  std::vector<BlockRef> tables;

 private:
  void Flush() {
    const size_t n = size_ - flushed_;
    size_t done = 0;
    while (done < n) {
      const ssize_t w = pwrite(fd_, buf_.get() + done, n - done, static_cast<off_t>(flushed_ + done));
      if (w <= 0) {
        if (w < 0 && errno == EINTR) continue;
        ToMemory();
        return;
      }
      done += static_cast<size_t>(w);
    }
    flushed_ = size_;
  }
  // ToMemory(): the file failed (full disk, no mmap): move what it and the buffer hold into
  // memory chunks and go on without it.
  void ToMemory() {
    const uint64_t on_file = flushed_;
    const uint64_t total = size_;
    for (uint64_t c = 0; c * kChunk < total; ++c) chunks_.emplace_back(new uint8_t[kChunk]);
    uint64_t off = 0;
    while (off < on_file) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk - off % kChunk, on_file - off));
      const ssize_t r = pread(fd_, chunks_[off / kChunk].get() + off % kChunk, want,
                              static_cast<off_t>(off));
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        // Cannot read back what was written: nothing sensible is left to do.
        fprintf(stderr, "tracetool: timeline index file: cannot read it back: %s\n",
                r < 0 ? strerror(errno) : "short file");
        std::abort();
      }
      off += static_cast<uint64_t>(r);
    }
    for (uint64_t o = on_file; o < total;) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk - o % kChunk, total - o));
      std::memcpy(chunks_[o / kChunk].get() + o % kChunk, buf_.get() + (o - on_file), want);
      o += want;
    }
    close(fd_);
    fd_ = -1;
    buf_.reset();
  }

  int fd_ = -1;
  std::unique_ptr<uint8_t[]> buf_;  // file mode: bytes [flushed_, size_) not yet written
  uint64_t flushed_ = 0;
  uint64_t size_ = 0;
  uint8_t* map_ = nullptr;
  size_t mapped_ = 0;
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;  // memory mode
  bool serving_ = false;
  mutable std::atomic<uint64_t> reads_{0};
};

}  // namespace timeline_internal

namespace {

using timeline_internal::Arena;
using timeline_internal::BlockRef;

void PutVarint(uint64_t v, uint8_t** p) {
  while (v >= 0x80) {
    *(*p)++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *(*p)++ = static_cast<uint8_t>(v);
}

uint64_t GetVarint(const uint8_t** p) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const uint8_t b = *(*p)++;
    v |= uint64_t{b & 0x7fu} << shift;
    if (b < 0x80) return v;
  }
}

std::atomic<uint32_t> g_next_store_id{1};

struct DecodeCache {
  uint32_t store = 0;  // 0: empty
  size_t block = 0;
  std::array<Change, kBlock> c;
};
thread_local DecodeCache t_cache;

class ChangeStore {
 public:
  ChangeStore() : id_(g_next_store_id.fetch_add(1, std::memory_order_relaxed)) {}
  ~ChangeStore() {
    if (nblocks_ > 1 && cap_ != 0) delete[] many_;
  }
  ChangeStore(ChangeStore&& o) noexcept
      : id_(o.id_), encoded_(o.encoded_), arena_(o.arena_), nblocks_(o.nblocks_), cap_(o.cap_),
        tail_(std::move(o.tail_)) {
    std::memcpy(static_cast<void*>(&one_), &o.one_, sizeof(one_));  // whichever member is live
    o.nblocks_ = o.cap_ = o.encoded_ = 0;
  }
  ChangeStore(const ChangeStore&) = delete;
  ChangeStore& operator=(const ChangeStore&) = delete;
  ChangeStore& operator=(ChangeStore&&) = delete;

  size_t size() const { return encoded_ + tail_size(); }
  bool empty() const { return size() == 0; }
  Change operator[](size_t i) const {
    if (i >= encoded_) return (*tail_)[i - encoded_];
    return Block(i / kBlock)[i % kBlock];
  }
  Change front() const { return (*this)[0]; }
  // TsAt(i): the time of change i; a block's first without decoding.
  int64_t TsAt(size_t i) const {
    if (i < encoded_ && i % kBlock == 0) return BlockAt(i / kBlock).base;
    return (*this)[i].ts();
  }
  // PartitionPoint(pred): the first change whose time fails `pred` (true for a prefix).
  template <typename Pred>
  size_t PartitionPoint(Pred pred) const {
    size_t lo = 0, hi = nblocks_;
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (pred(BlockAt(mid).base)) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    size_t i = lo == 0 ? 0 : (lo - 1) * kBlock;
    const size_t end = lo < nblocks_ ? lo * kBlock : size();
    while (i < end && pred(TsAt(i))) ++i;
    return i;
  }

  // Building: the newest changes are a plain vector.
  void set_arena(Arena* a) { arena_ = a; }
  Change& back() { return tail_->back(); }
  size_t tail_size() const { return tail_ ? tail_->size() : 0; }
  void pop_back() { tail_->pop_back(); }
  void push_back(const Change& c) {
    if (!tail_) tail_ = std::make_unique<std::vector<Change>>();
    std::vector<Change>& t = *tail_;
    if (t.size() == t.capacity() && t.capacity() >= 8) t.reserve(kBlock + kKeep);
    t.push_back(c);
    if (t.size() >= kBlock + kKeep) {
      Encode(t.data(), kBlock);
      t.erase(t.begin(), t.begin() + kBlock);
    }
  }
  void ShrinkTail() {
    if (tail_) tail_->shrink_to_fit();
  }
  // Seal(): encode the rest; no push_back() afterwards.
  void Seal() {
    if (tail_) {
      for (size_t i = 0; i < tail_->size(); i += kBlock) {
        Encode(tail_->data() + i, std::min(kBlock, tail_->size() - i));
      }
      tail_.reset();
    }
  }
  // OwnTable(): entries of the block table in its own heap array (0 if inline or moved).
  size_t OwnTable() const { return nblocks_ > 1 && cap_ != 0 ? nblocks_ : 0; }
  // MoveTable(): the block table moves to the end of *pool, which has room for it (a
  // reallocation would leave the pointer dangling).
  void MoveTable(std::vector<BlockRef>* pool) {
    if (OwnTable() == 0) return;
    const size_t at = pool->size();
    if (pool->capacity() - at < nblocks_) std::abort();
    pool->insert(pool->end(), many_, many_ + nblocks_);
    delete[] many_;
    many_ = pool->data() + at;
    cap_ = 0;
  }
  uint64_t MemoryBytes() const {
    return (nblocks_ > 1 ? uint64_t{cap_} * sizeof(BlockRef) : 0) +
           (tail_ ? sizeof(*tail_) + tail_->capacity() * sizeof(Change) : 0);
  }

 private:
  const BlockRef& BlockAt(size_t b) const { return nblocks_ <= 1 ? one_ : many_[b]; }
  void AddBlock(const BlockRef& r) {
    if (nblocks_ == 0) {
      one_ = r;
    } else {
      if (nblocks_ == 1 || nblocks_ == cap_) {
        const uint32_t cap = nblocks_ == 1 ? 4 : cap_ * 2;
        BlockRef* grown = new BlockRef[cap];
        if (nblocks_ == 1) {
          grown[0] = one_;
        } else {
          std::copy(many_, many_ + nblocks_, grown);
          delete[] many_;
        }
        many_ = grown;
        cap_ = cap;
      }
      many_[nblocks_] = r;
    }
    ++nblocks_;
  }
  void Encode(const Change* c, size_t n) {
    uint8_t buf[kMaxBlockBytes];
    uint8_t* p = buf;
    int64_t prev = c[0].ts();
    for (size_t i = 0; i < n; ++i) {
      const int64_t d = c[i].ts() - prev;
      prev = c[i].ts();
      const uint64_t zz = (static_cast<uint64_t>(d) << 1) ^ static_cast<uint64_t>(d >> 63);
      PutVarint(zz << 10 | (c[i].bits >> 48 & 0x3ff), &p);
      PutVarint(c[i].stack, &p);
      PutVarint(c[i].aux, &p);
    }
    AddBlock({c[0].ts(), arena_->Append(buf, static_cast<size_t>(p - buf))});
    encoded_ += static_cast<uint32_t>(n);
  }
  const std::array<Change, kBlock>& Block(size_t b) const {
    DecodeCache& dc = t_cache;
    if (dc.store == id_ && dc.block == b) return dc.c;
    arena_->Touch();
    const BlockRef& ref = BlockAt(b);
    const uint8_t* p = arena_->At(ref.off);
    int64_t ts = ref.base;
    const size_t n = std::min(kBlock, encoded_ - b * kBlock);
    for (size_t i = 0; i < n; ++i) {
      const uint64_t v = GetVarint(&p);
      const uint64_t zz = v >> 10;
      ts += static_cast<int64_t>((zz >> 1) ^ (~(zz & 1) + 1));
      Change& c = dc.c[i];
      c.bits = (static_cast<uint64_t>(ts) & kTsMask) | (v & 0x3ff) << 48;
      c.stack = static_cast<uint32_t>(GetVarint(&p));
      c.aux = static_cast<uint32_t>(GetVarint(&p));
    }
    dc.store = id_;
    dc.block = b;
    return dc.c;
  }

  uint32_t id_;            // key of the decode cache
  uint32_t encoded_ = 0;   // changes in blocks
  Arena* arena_ = nullptr;
  // The block table: one block inline (most goroutines have at most kBlock changes), more in a
  // heap array of cap_, or (cap_ == 0) in the arena's shared tables.
  uint32_t nblocks_ = 0, cap_ = 0;
  union {
    BlockRef one_{};
    BlockRef* many_;
  };
  std::unique_ptr<std::vector<Change>> tail_;  // unencoded newest changes, while building
};

static_assert(sizeof(ChangeStore) == 48);

// Merges consecutive spans shorter than one pixel (res ns) into one, keeping time per kind so the
// merged span shows the dominant kind and how full it is.
class Merger {
 public:
  Merger(int64_t res, int track, const std::function<void(int, const Span&)>* out)
      : res_(res), track_(track), out_(out) {}
  ~Merger() { Flush(); }

  void Push(const Span& s, SpanKind kind, int64_t weight) {
    if (open_) {
      const bool small_acc = acc_.end - acc_.start < res_;
      const bool small_s = s.end - s.start < res_;
      if (small_acc && small_s && s.start - acc_.end < res_) {
        acc_.end = std::max(acc_.end, s.end);
        acc_.count += s.count;
        weight_[static_cast<int>(kind)] += weight;
        return;
      }
      // A run of merged pixels that look alike (same dominant kind, same fill ±1) stays one
      // span: uniform stretches cost one span, not one per pixel.
      if (acc_.count > 1 && small_s && s.start - acc_.end < res_) {
        const SpanKind k = Dominant();
        const int fill = Fill(k);
        const int64_t len = s.end - s.start;
        const int sfill = kind == SpanKind::kInstant || len <= 0
                              ? 15
                              : static_cast<int>(std::clamp<int64_t>((weight * 15 + len / 2) / len, 0, 15));
        if (k == kind && std::abs(fill - sfill) <= 1) {
          acc_.end = std::max(acc_.end, s.end);
          acc_.count += s.count;
          weight_[static_cast<int>(kind)] += weight;
          return;
        }
      }
      Flush();
    }
    open_ = true;
    acc_ = s;
    weight_.fill(0);
    weight_[static_cast<int>(kind)] = weight;
  }

  SpanKind Dominant() const {
    int best = 0;
    for (int k = 1; k < kKinds; ++k) {
      if (weight_[k] > 0 && (best == 0 || weight_[k] > weight_[best])) best = k;
    }
    return static_cast<SpanKind>(best);
  }
  int Fill(SpanKind dom) const {
    int64_t total = 0;
    for (int k = 1; k < kKinds; ++k) total += weight_[k];
    const int64_t len = acc_.end - acc_.start;
    if (dom == SpanKind::kInstant || len <= 0) return 15;
    return static_cast<int>(std::clamp<int64_t>((total * 15 + len / 2) / len, 1, 15));
  }

  void Flush() {
    if (!open_) return;
    open_ = false;
    if (acc_.count > 1) {
      const SpanKind best = Dominant();
      if (best == SpanKind::kNone) return;
      acc_.kind = best;
      acc_.fill = static_cast<uint8_t>(Fill(best));
      acc_.type = EventType::kNone;
      acc_.stack = 0;
    }
    (*out_)(track_, acc_);
  }

 private:
  const int64_t res_;
  const int track_;
  const std::function<void(int, const Span&)>* out_;
  bool open_ = false;
  Span acc_;
  std::array<int64_t, kKinds> weight_{};
};

}  // namespace

struct Timeline::Track {
  uint64_t id = 0;
  ChangeStore changes;
  // Time buckets, finest first: bucket i of a level covers [(base+i) << shift, (base+i+1) << shift)
  // and holds the same byte as a pyramid node (dominant kind | fill << 4). Levels step by 4×.
  struct TimeLevel {
    int shift = 0;
    int64_t base = 0;
    std::vector<uint8_t> b;
  };
  struct Pyramid {
    std::vector<std::vector<uint8_t>> levels;  // levels[L-1]: pyramid level L
    std::vector<TimeLevel> tlevels;
  };
  // Only for tracks with more than kFanout changes (most goroutines have fewer): the pointer costs
  // 8 bytes per track where two vectors cost 48.
  std::unique_ptr<Pyramid> pyr;

  void Set(int64_t ts, SpanKind k, EventType type, uint32_t stack, uint64_t aux) {
    Change c{(static_cast<uint64_t>(ts) & kTsMask) | uint64_t{static_cast<uint8_t>(k)} << 48 |
                 uint64_t{static_cast<uint8_t>(type)} << 52,
             stack, static_cast<uint32_t>(aux)};
    if (!changes.empty() && changes.back().ts() == ts && k != SpanKind::kInstant) {
      changes.back() = c;
      // Two changes at one time: drop the first; and a change to the state already held adds
      // nothing (e.g. idle → idle).
      if (changes.tail_size() >= 2 && changes[changes.size() - 2].kind() == k &&
          k == SpanKind::kNone) {
        changes.pop_back();
      }
      return;
    }
    if (changes.empty() && k == SpanKind::kNone) return;
    if (!changes.empty() && k == SpanKind::kNone && changes.back().kind() == SpanKind::kNone) {
      return;
    }
    changes.push_back(c);
  }

  int64_t EndOf(size_t i, int64_t track_end) const {
    if (changes[i].kind() == SpanKind::kInstant) return changes.TsAt(i);
    return i + 1 < changes.size() ? changes.TsAt(i + 1) : track_end;
  }

  // Build(): after changes.Seal() and the arena's.
  void Build(int64_t track_end) {
    pyr.reset();
    const size_t n = changes.size();
    if (n <= kFanout) return;
    pyr = std::make_unique<Pyramid>();
    std::vector<std::vector<uint8_t>>& levels = pyr->levels;
    // Level 1 from the changes, then each level from the one below, carrying time per kind.
    std::vector<std::array<int64_t, kKinds>> sums((n + kFanout - 1) / kFanout);
    for (size_t i = 0; i < n; ++i) {
      const SpanKind k = changes[i].kind();
      const int64_t w = k == SpanKind::kInstant ? 1 : EndOf(i, track_end) - changes[i].ts();
      sums[i / kFanout][static_cast<int>(k)] += w;
    }
    size_t span = kFanout;  // changes per node at this level
    while (true) {
      std::vector<uint8_t> level(sums.size());
      for (size_t j = 0; j < sums.size(); ++j) {
        const size_t lo = j * span, hi = std::min(n, lo + span);
        const int64_t len = (hi < n ? changes.TsAt(hi) : track_end) - changes.TsAt(lo);
        int best = 0;
        int64_t busy = 0;
        for (int k = 1; k < kKinds; ++k) {
          busy += sums[j][k];
          if (sums[j][k] > 0 && (best == 0 || sums[j][k] > sums[j][best])) best = k;
        }
        int fill = best == static_cast<int>(SpanKind::kInstant) || len <= 0
                       ? 15
                       : static_cast<int>(std::clamp<int64_t>(busy * 15 / len, 0, 15));
        if (best != 0 && fill == 0) fill = 1;
        level[j] = static_cast<uint8_t>(best | fill << 4);
      }
      levels.push_back(std::move(level));
      if (sums.size() <= kFanout) break;
      std::vector<std::array<int64_t, kKinds>> up((sums.size() + kFanout - 1) / kFanout);
      for (size_t j = 0; j < sums.size(); ++j) {
        for (int k = 0; k < kKinds; ++k) up[j / kFanout][k] += sums[j][k];
      }
      sums = std::move(up);
      span *= kFanout;
    }
    BuildTimeLevels(track_end);
  }

  // BuildTimeLevels(): time-aligned buckets, the finest about 4 changes wide on average, so they
  // cost at most a quarter byte per change in total. Only for tracks with many changes.
  void BuildTimeLevels(int64_t track_end) {
    std::vector<TimeLevel>& tlevels = pyr->tlevels;
    tlevels.clear();
    const size_t n = changes.size();
    if (n < 256) return;
    const int64_t start = changes.front().ts();
    const int64_t dur = std::max<int64_t>(1, track_end - start);
    int shift = 10;  // ~1 µs
    while (shift < 46 && (dur >> shift) > static_cast<int64_t>(n / 4)) shift += 2;
    constexpr int kOne = 4095;  // fractions of a bucket, per kind
    int64_t base = start >> shift;
    size_t nb = static_cast<size_t>((track_end >> shift) - base + 1);
    std::vector<std::array<uint16_t, kKinds>> acc(nb);
    for (size_t i = 0; i < n; ++i) {
      const SpanKind k = changes[i].kind();
      if (k == SpanKind::kNone) continue;
      const int64_t a = changes[i].ts(), e = EndOf(i, track_end);
      const int ki = static_cast<int>(k);
      if (k == SpanKind::kInstant || e <= a) {
        auto& slot = acc[static_cast<size_t>((a >> shift) - base)][ki];
        slot = static_cast<uint16_t>(std::min(kOne, slot + 1));
        continue;
      }
      for (int64_t bi = a >> shift; bi <= (e - 1) >> shift; ++bi) {
        const int64_t lo = std::max(a, bi << shift), hi = std::min(e, (bi + 1) << shift);
        const int64_t f = std::max<int64_t>(1, ((hi - lo) * kOne + (int64_t{1} << (shift - 1))) >> shift);
        auto& slot = acc[static_cast<size_t>(bi - base)][ki];
        slot = static_cast<uint16_t>(std::min<int64_t>(kOne, slot + f));
      }
    }
    while (true) {
      TimeLevel lv;
      lv.shift = shift;
      lv.base = base;
      lv.b.resize(acc.size());
      for (size_t j = 0; j < acc.size(); ++j) {
        int best = 0, busy = 0;
        for (int k = 1; k < kKinds; ++k) {
          busy += acc[j][k];
          if (acc[j][k] > 0 && (best == 0 || acc[j][k] > acc[j][best])) best = k;
        }
        int fill = best == static_cast<int>(SpanKind::kInstant)
                       ? 15
                       : std::clamp((busy * 15 + kOne / 2) / kOne, best != 0 ? 1 : 0, 15);
        lv.b[j] = static_cast<uint8_t>(best | fill << 4);
      }
      tlevels.push_back(std::move(lv));
      if (acc.size() <= 16 || shift >= 60) break;
      const int64_t base2 = base >> 2;
      std::vector<std::array<uint16_t, kKinds>> up(
          static_cast<size_t>(((base + static_cast<int64_t>(acc.size()) - 1) >> 2) - base2 + 1));
      std::vector<std::array<uint32_t, kKinds>> sum(up.size());
      for (size_t j = 0; j < acc.size(); ++j) {
        auto& d = sum[static_cast<size_t>(((base + static_cast<int64_t>(j)) >> 2) - base2)];
        for (int k = 0; k < kKinds; ++k) d[k] += acc[j][k];
      }
      for (size_t j = 0; j < up.size(); ++j) {
        for (int k = 0; k < kKinds; ++k) {
          // Instants keep a count (any is visible); time fractions average over 4 children.
          up[j][k] = static_cast<uint16_t>(k == static_cast<int>(SpanKind::kInstant)
                                               ? std::min<uint32_t>(kOne, sum[j][k])
                                               : (sum[j][k] + 3) / 4);
        }
      }
      acc = std::move(up);
      base = base2;
      shift += 2;
    }
  }

  // WalkBuckets(): emit the buckets of time level `lv` overlapping [t0, t1].
  void WalkBuckets(const TimeLevel& lv, int64_t t0, int64_t t1, int64_t track_end,
                   Merger* m) const {
    const int64_t nb = static_cast<int64_t>(lv.b.size());
    const int64_t first = std::max<int64_t>(0, (std::max<int64_t>(0, t0) >> lv.shift) - lv.base);
    const int64_t last = std::min<int64_t>(nb - 1, (std::max<int64_t>(0, t1) >> lv.shift) - lv.base);
    const int64_t track_start = changes.front().ts();
    for (int64_t i = first; i <= last; ++i) {
      const uint8_t byte = lv.b[static_cast<size_t>(i)];
      const SpanKind k = static_cast<SpanKind>(byte & 0xf);
      if (k == SpanKind::kNone) continue;
      Span sp;
      sp.start = std::max(track_start, (lv.base + i) << lv.shift);
      sp.end = std::min(track_end, (lv.base + i + 1) << lv.shift);
      if (sp.end < sp.start) sp.end = sp.start;
      sp.kind = k;
      sp.count = 2;  // merged: the bucket's changes are not counted
      // The fill is a fraction of the whole bucket; the first and last are clipped to the track.
      const int64_t busy = ((int64_t{1} << lv.shift) * (byte >> 4) + 7) / 15;
      m->Push(sp, k, k == SpanKind::kInstant ? 1 : std::min(sp.end - sp.start, busy));
    }
  }

  // Walk(): emit node i of level L (L = 0: change i) if it overlaps [t0, t1].
  void Walk(size_t level, size_t i, size_t span, int64_t t0, int64_t t1, int64_t res,
            int64_t track_end, Merger* m) const {
    const size_t n = changes.size();
    const size_t lo = i * span;
    if (lo >= n) return;
    const size_t hi = std::min(n, lo + span);
    const int64_t start = changes.TsAt(lo);
    const int64_t end = level == 0 ? EndOf(lo, track_end)
                                   : (hi < n ? changes.TsAt(hi) : track_end);
    if (start > t1 || end < t0) return;
    if (level == 0) {
      const Change c = changes[lo];
      if (c.kind() == SpanKind::kNone) return;
      Span s;
      s.start = start;
      s.end = end;
      s.kind = c.kind();
      s.type = c.type();
      s.stack = c.stack;
      s.aux = c.aux;
      m->Push(s, s.kind, s.kind == SpanKind::kInstant ? 1 : end - start);
      return;
    }
    if (end - start <= res) {
      const uint8_t dom = pyr->levels[level - 1][i];
      const SpanKind k = static_cast<SpanKind>(dom & 0xf);
      if (k == SpanKind::kNone) return;
      Span s;
      s.start = start;
      s.end = end;
      s.kind = k;
      s.count = static_cast<uint32_t>(hi - lo);
      const int fill = dom >> 4;
      m->Push(s, k, k == SpanKind::kInstant ? 1 : ((end - start) * fill + 7) / 15);
      return;
    }
    const size_t child_span = span / kFanout;
    for (size_t c = i * kFanout; c < i * kFanout + kFanout; ++c) {
      if (c * child_span >= n) break;
      if (changes.TsAt(c * child_span) > t1) break;
      Walk(level - 1, c, child_span, t0, t1, res, track_end, m);
    }
  }
};

Timeline::Timeline() : arena_(std::make_unique<Arena>()), lanes_(kLanes) {
  for (Track& t : lanes_) t.changes.set_arena(arena_.get());
}
Timeline::~Timeline() = default;

const char* SpanKindName(SpanKind k) {
  switch (k) {
    case SpanKind::kNone: return "none";
    case SpanKind::kRunning: return "running";
    case SpanKind::kRunnable: return "runnable";
    case SpanKind::kWaiting: return "waiting";
    case SpanKind::kSyscall: return "syscall";
    case SpanKind::kGCWait: return "gc-wait";
    case SpanKind::kGC: return "gc";
    case SpanKind::kSTW: return "stw";
    case SpanKind::kInstant: return "instant";
    case SpanKind::kCount: break;
  }
  return "?";
}

Timeline::Track* Timeline::GTrack(uint64_t g) {
  bool inserted = false;
  uint32_t& slot = g_index_.Get(g, &inserted);
  if (inserted || slot == 0) {
    g_tracks_.emplace_back();
    g_tracks_.back().id = g;
    g_tracks_.back().changes.set_arena(arena_.get());
    slot = static_cast<uint32_t>(g_tracks_.size());
  }
  return &g_tracks_[slot - 1];
}

Timeline::Track* Timeline::PTrack(int64_t p) {
  for (size_t i = 0; i < p_ids_.size(); ++i) {
    if (p_ids_[i] == p) return &p_tracks_[i];
  }
  p_ids_.push_back(p);
  p_tracks_.emplace_back();
  p_tracks_.back().id = static_cast<uint64_t>(p);
  p_tracks_.back().changes.set_arena(arena_.get());
  return &p_tracks_.back();
}

Timeline::Track* Timeline::MTrack(uint64_t m) {
  bool inserted = false;
  uint32_t& slot = m_index_.Get(m, &inserted);
  if (inserted || slot == 0) {
    m_tracks_.emplace_back();
    m_tracks_.back().id = m;
    m_tracks_.back().changes.set_arena(arena_.get());
    slot = static_cast<uint32_t>(m_tracks_.size());
  }
  return &m_tracks_[slot - 1];
}

void Timeline::SetG(uint64_t g, int64_t ts, SpanKind k, const Event& ev, uint64_t aux) {
  GTrack(g)->Set(ts, k, ev.type, ev.stack_id, aux);
}

void Timeline::OnEvent(const Event& ev) {
  const int64_t ts = ev.ts;
  switch (ev.type) {
    case EventType::kGoCreate:
      SetG(ev.args[0], ts, SpanKind::kRunnable, ev, ev.g);
      break;
    case EventType::kGoStart:
    case EventType::kGoStartLabel:
      SetG(ev.g, ts, SpanKind::kRunning, ev, static_cast<uint64_t>(ev.p));
      if (RealP(ev.p)) PTrack(ev.p)->Set(ts, SpanKind::kRunning, ev.type, ev.stack_id, ev.g);
      break;
    case EventType::kGoEnd:
    case EventType::kGoStop:
    case EventType::kGoSched:
    case EventType::kGoPreempt:
    case EventType::kGoSleep:
    case EventType::kGoBlock:
    case EventType::kGoBlockSend:
    case EventType::kGoBlockRecv:
    case EventType::kGoBlockSelect:
    case EventType::kGoBlockSync:
    case EventType::kGoBlockCond:
    case EventType::kGoBlockNet:
    case EventType::kGoBlockGC:
    case EventType::kGoSysBlock: {
      SpanKind k = SpanKind::kWaiting;
      if (ev.type == EventType::kGoEnd) k = SpanKind::kNone;
      if (ev.type == EventType::kGoSched || ev.type == EventType::kGoPreempt) {
        k = SpanKind::kRunnable;
      }
      if (ev.type == EventType::kGoBlockGC) k = SpanKind::kGCWait;
      if (ev.type == EventType::kGoSysBlock) k = SpanKind::kSyscall;
      SetG(ev.g, ts, k, ev, 0);
      // An ended goroutine gets no more changes: its unencoded tail shrinks to its size.
      if (ev.type == EventType::kGoEnd) GTrack(ev.g)->changes.ShrinkTail();
      if (RealP(ev.p)) PTrack(ev.p)->Set(ts, SpanKind::kNone, ev.type, ev.stack_id, 0);
      break;
    }
    case EventType::kGoUnblock: {
      SetG(ev.args[0], ts, SpanKind::kRunnable, ev, ev.g);
      int lane = ev.p == format::kNetpollP  ? 2
                 : ev.p == format::kTimerP  ? 3
                 : ev.p == format::kSyscallP ? 4
                                             : -1;
      if (lane >= 0) lanes_[lane].Set(ts, SpanKind::kInstant, ev.type, ev.stack_id, ev.args[0]);
      break;
    }
    case EventType::kGoSysExit:
      SetG(ev.g, ts, SpanKind::kRunnable, ev, 0);
      break;
    case EventType::kGoWaiting:
      SetG(ev.g, ts, SpanKind::kWaiting, ev, 0);
      break;
    case EventType::kGoInSyscall:
      SetG(ev.g, ts, SpanKind::kSyscall, ev, 0);
      break;
    case EventType::kProcStart:
      if (RealP(ev.p)) {
        PTrack(ev.p);  // a P that never runs a goroutine still gets its row
        m_of_p_.Get(static_cast<uint64_t>(ev.p)) = ev.args[0] + 1;
        MTrack(ev.args[0])->Set(ts, SpanKind::kRunning, ev.type, 0, static_cast<uint64_t>(ev.p));
      }
      break;
    case EventType::kProcStop:
      if (RealP(ev.p)) {
        PTrack(ev.p)->Set(ts, SpanKind::kNone, ev.type, 0, 0);
        if (uint64_t* m = m_of_p_.Find(static_cast<uint64_t>(ev.p)); m != nullptr && *m != 0) {
          MTrack(*m - 1)->Set(ts, SpanKind::kNone, ev.type, 0, 0);
          *m = 0;
        }
      }
      break;
    case EventType::kGCStart:
      ++gc_count_;
      lanes_[0].Set(ts, SpanKind::kGC, ev.type, ev.stack_id, ev.args[0]);
      break;
    case EventType::kGCDone:
      lanes_[0].Set(ts, SpanKind::kNone, ev.type, 0, 0);
      break;
    case EventType::kGCSTWStart:
      lanes_[1].Set(ts, SpanKind::kSTW, ev.type, ev.stack_id, ev.args[0]);
      break;
    case EventType::kGCSTWDone:
      lanes_[1].Set(ts, SpanKind::kNone, ev.type, 0, 0);
      break;
    default:
      break;
  }
}

void Timeline::Finish(int64_t last_ts, const std::function<void(const char* phase)>& on_phase) {
  auto phase = [&](const char* name) {
    if (on_phase) on_phase(name);
  };
  end_ts_ = last_ts;
  auto seal = [](auto& ts) {
    for (Track& t : ts) t.changes.Seal();
  };
  seal(lanes_);
  seal(g_tracks_);
  seal(p_tracks_);
  seal(m_tracks_);
  auto order = [](const auto& ts, std::vector<uint32_t>* o,
                  std::vector<uint64_t>* ids) {
    o->resize(ts.size());
    for (uint32_t i = 0; i < o->size(); ++i) (*o)[i] = i;
    std::sort(o->begin(), o->end(), [&](uint32_t a, uint32_t b) { return ts[a].id < ts[b].id; });
    ids->resize(o->size());
    for (size_t i = 0; i < o->size(); ++i) (*ids)[i] = ts[(*o)[i]].id;
  };
  // The id → track maps only serve OnEvent(); TrackOf() searches the sorted ids. With a million
  // goroutines the hash map is tens of MB.
  g_index_ = parser::FlatMap<uint32_t>();
  m_index_ = parser::FlatMap<uint32_t>();
  m_of_p_ = parser::FlatMap<uint64_t>();
  order(g_tracks_, &g_order_, &g_sorted_ids_);
  order(p_tracks_, &p_order_, &p_sorted_ids_);
  order(m_tracks_, &m_order_, &m_sorted_ids_);
  // The goroutine tracks move into one array in id order, their block tables into one more.
  // They were allocated piecemeal while the trace was read, amid the unencoded tails and the id
  // map freed above; once moved, that part of the heap is all free and goes back to the system,
  // where it would otherwise stay resident as fragments. Done before the pyramids are built,
  // which map every page of the index file for a while.
  size_t tables = 0;
  for (const Track& t : g_tracks_) tables += t.changes.OwnTable();
  arena_->tables.reserve(tables);
  g_final_.reserve(g_tracks_.size());
  for (uint32_t i : g_order_) {
    g_final_.push_back(std::move(g_tracks_[i]));
    g_final_.back().changes.MoveTable(&arena_->tables);
  }
  std::deque<Track>().swap(g_tracks_);
  std::vector<uint32_t>().swap(g_order_);
  malloc_trim(0);
  phase("timeline tracks moved");
  arena_->Seal();
  for (Track& t : lanes_) t.Build(end_ts_);
  for (Track& t : g_final_) t.Build(end_ts_);
  for (Track& t : p_tracks_) t.Build(end_ts_);
  for (Track& t : m_tracks_) t.Build(end_ts_);
  phase("timeline pyramids built");
  arena_->Serve();
}

int Timeline::TrackCount(Lens lens) const {
  switch (lens) {
    case Lens::kG: return kLanes + static_cast<int>(g_final_.size());
    case Lens::kP: return kLanes + static_cast<int>(p_order_.size());
    case Lens::kM: return kLanes + static_cast<int>(m_order_.size());
  }
  return kLanes;
}

const Timeline::Track* Timeline::Get(Lens lens, int track) const {
  if (track < 0 || track >= TrackCount(lens)) return nullptr;
  if (track < kLanes) return &lanes_[track];
  const size_t i = static_cast<size_t>(track - kLanes);
  switch (lens) {
    case Lens::kG: return &g_final_[i];
    case Lens::kP: return &p_tracks_[p_order_[i]];
    case Lens::kM: return &m_tracks_[m_order_[i]];
  }
  return nullptr;
}

TrackInfo Timeline::Info(Lens lens, int track) const {
  TrackInfo info;
  const Track* t = Get(lens, track);
  if (t == nullptr) return info;
  static constexpr const char* kLaneNames[kLanes] = {"GC", "STW", "Network", "Timers", "Syscalls"};
  info.id = t->id;
  info.changes = static_cast<uint32_t>(t->changes.size());
  if (track < kLanes) {
    info.label = kLaneNames[track];
  } else {
    // Appended, not "P " + to_string(): GCC 12 -O3 reports a false -Wrestrict on the latter.
    info.label = lens == Lens::kP ? "P " : lens == Lens::kM ? "M " : "G";
    info.label.append(std::to_string(t->id));
  }
  return info;
}

int Timeline::TrackOf(Lens lens, uint64_t id) const {
  const std::vector<uint64_t>& ids =
      lens == Lens::kG ? g_sorted_ids_ : lens == Lens::kP ? p_sorted_ids_ : m_sorted_ids_;
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) return -1;
  return kLanes + static_cast<int>(it - ids.begin());
}

void Timeline::Query(Lens lens, int first, int n, int64_t t0, int64_t t1, int width_px,
                     const std::function<void(int track, const Span& s)>& out) const {
  const int64_t res = std::max<int64_t>(1, (t1 - t0) / std::max(1, width_px));
  for (int track = first; track < first + n; ++track) {
    const Track* t = Get(lens, track);
    if (t == nullptr || t->changes.empty()) continue;
    Merger m(res, track, &out);
    const size_t levels = t->pyr ? t->pyr->levels.size() : 0;
    if (levels == 0) {
      // Small track: start at the last change at or before t0.
      const size_t up = t->changes.PartitionPoint([t0](int64_t ts) { return ts <= t0; });
      size_t i = up == 0 ? 0 : up - 1;
      for (; i < t->changes.size() && t->changes.TsAt(i) <= t1; ++i) {
        t->Walk(0, i, 1, t0, t1, res, end_ts_, &m);
      }
      continue;
    }
    // Many changes in view: time buckets a pixel or less wide bound the work by the width;
    // otherwise the count pyramid gives exact spans.
    const Track::TimeLevel* lv = nullptr;
    for (const auto& l : t->pyr->tlevels) {
      if ((int64_t{1} << l.shift) <= res) lv = &l;
    }
    if (lv != nullptr) {
      const size_t lo = t->changes.PartitionPoint([t0](int64_t ts) { return ts < t0; });
      const size_t hi = t->changes.PartitionPoint([t1](int64_t ts) { return ts < t1; });
      if (static_cast<int64_t>(hi - lo) > 4 * static_cast<int64_t>(std::max(1, width_px))) {
        t->WalkBuckets(*lv, t0, t1, end_ts_, &m);
        continue;
      }
    }
    size_t span = 1;
    for (size_t l = 0; l < levels; ++l) span *= kFanout;
    for (size_t i = 0; i * span < t->changes.size(); ++i) {
      t->Walk(levels, i, span, t0, t1, res, end_ts_, &m);
    }
  }
  arena_->MaybeRelease();
}

Span Timeline::SpanAt(Lens lens, int track, int64_t ts, int64_t slop) const {
  Span s;
  const Track* t = Get(lens, track);
  if (t == nullptr || t->changes.empty()) return s;
  const auto& cs = t->changes;
  const size_t up = cs.PartitionPoint([ts](int64_t v) { return v <= ts; });
  size_t best = SIZE_MAX;
  if (cs.front().kind() == SpanKind::kInstant) {
    // The nearest instant within slop.
    int64_t best_d = slop + 1;
    size_t hi = up;
    for (size_t i : {hi > 0 ? hi - 1 : SIZE_MAX, hi < cs.size() ? hi : SIZE_MAX}) {
      if (i == SIZE_MAX) continue;
      int64_t d = std::abs(cs.TsAt(i) - ts);
      if (d < best_d) best_d = d, best = i;
    }
  } else if (up != 0) {
    best = up - 1;
  }
  if (best == SIZE_MAX || cs[best].kind() == SpanKind::kNone) return s;
  const Change c = cs[best];
  s.start = c.ts();
  s.end = t->EndOf(best, end_ts_);
  s.kind = c.kind();
  s.type = c.type();
  s.stack = c.stack;
  s.aux = c.aux;
  return s;
}

Timeline::MemoryUse Timeline::Memory() const {
  MemoryUse u;
  auto add = [&](const auto& ts) {
    u.tracks += ts.size() * sizeof(Track);
    for (const Track& t : ts) {
      u.block_tables += t.changes.MemoryBytes();
      if (!t.pyr) continue;
      u.pyramids += sizeof(Track::Pyramid);
      for (const auto& l : t.pyr->levels) u.pyramids += l.capacity();
      for (const auto& l : t.pyr->tlevels) u.pyramids += l.b.capacity() + sizeof(l);
    }
  };
  add(lanes_);
  add(g_tracks_);
  add(g_final_);
  u.block_tables += arena_->tables.capacity() * sizeof(BlockRef);
  add(p_tracks_);
  add(m_tracks_);
  u.changes_memory = arena_->memory_bytes();
  u.changes_file = arena_->on_disk() ? arena_->bytes() : 0;
  u.orders = (g_order_.capacity() + p_order_.capacity() + m_order_.capacity()) * sizeof(uint32_t) +
             (g_sorted_ids_.capacity() + p_sorted_ids_.capacity() + m_sorted_ids_.capacity()) * 8;
  return u;
}

uint64_t Timeline::MemoryBytes() const {
  const MemoryUse u = Memory();
  return u.tracks + u.block_tables + u.pyramids + u.changes_memory + u.orders;
}

}  // namespace tracetool::analysis

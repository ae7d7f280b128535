// FlatMap: an open-addressing hash map from uint64_t keys to small values.
// IdSet: a compact set of ids, one bit per id where ids are dense.
//
// The reader keeps state for every live goroutine; std::unordered_map's node per entry costs ~3×
// the memory and a cache miss per lookup. Linear probing over one array, capacity a power of two,
// load factor ≤ 1/2, erase by backward shift. Ended goroutines leave their state and are
// remembered in an IdSet (Go never forgets a goroutine id: reusing one is an error), so memory
// follows the live goroutines, not all goroutines ever created.
#ifndef TRACETOOL_LIB_PARSER_FLAT_MAP_H_
#define TRACETOOL_LIB_PARSER_FLAT_MAP_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tracetool::parser {

template <typename V>
class FlatMap {
 public:
  FlatMap() { Rehash(16); }

  // Find() returns the value for key, or nullptr.
  const V* Find(uint64_t key) const {
    size_t i = Slot(key);
    while (true) {
      const Entry& e = entries_[i];
      if (!e.used) return nullptr;
      if (e.key == key) return &e.value;
      i = (i + 1) & mask_;
    }
  }
  V* Find(uint64_t key) { return const_cast<V*>(std::as_const(*this).Find(key)); }
  // Get() returns the value for key, inserting a default-constructed one if absent. The pointer
  // is invalidated by the next insertion.
  V& Get(uint64_t key, bool* inserted = nullptr) {
    if ((size_ + 1) * 2 > entries_.size()) Rehash(entries_.size() * 2);
    size_t i = Slot(key);
    while (true) {
      Entry& e = entries_[i];
      if (!e.used) {
        e.used = true;
        e.key = key;
        e.value = V();
        ++size_;
        if (inserted) *inserted = true;
        return e.value;
      }
      if (e.key == key) {
        if (inserted) *inserted = false;
        return e.value;
      }
      i = (i + 1) & mask_;
    }
  }
  size_t size() const { return size_; }
  // epoch() changes whenever entries may have moved (a rehash or an erase): a pointer from Find()
  // or Get() stays valid while epoch() is unchanged, so callers may cache it with the epoch.
  uint64_t epoch() const { return epoch_; }

  // Erase() removes key if present (backward-shift deletion: no tombstones).
  void Erase(uint64_t key) {
    size_t i = Slot(key);
    while (true) {
      Entry& e = entries_[i];
      if (!e.used) return;
      if (e.key == key) break;
      i = (i + 1) & mask_;
    }
    size_t hole = i;
    size_t j = i;
    while (true) {
      j = (j + 1) & mask_;
      Entry& e = entries_[j];
      if (!e.used) break;
      const size_t home = Slot(e.key);
      // Move e into the hole if its home is not in (hole, j] (cyclically).
      const bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!in_range) {
        entries_[hole] = std::move(e);
        hole = j;
      }
    }
    entries_[hole] = Entry();
    --size_;
    ++epoch_;
  }

  template <typename F>
  void ForEach(F&& f) {
    for (Entry& e : entries_) {
      if (e.used) f(e.key, e.value);
    }
  }
  template <typename F>
  void ForEach(F&& f) const {
    for (const Entry& e : entries_) {
      if (e.used) f(e.key, e.value);
    }
  }

 private:
  struct Entry {
    uint64_t key = 0;
    bool used = false;
    V value{};
  };
  size_t Slot(uint64_t key) const {
    // Fibonacci hashing: goroutine ids are small consecutive integers.
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_) & mask_;
  }
  void Rehash(size_t cap) {
    std::vector<Entry> old = std::move(entries_);
    entries_.assign(cap, Entry());
    ++epoch_;
    mask_ = cap - 1;
    shift_ = 64;
    for (size_t c = cap; c > 1; c >>= 1) --shift_;
    size_ = 0;
    for (Entry& e : old) {
      if (e.used) Get(e.key) = std::move(e.value);
    }
  }

  std::vector<Entry> entries_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
  uint64_t epoch_ = 0;
};

// IdSet: chunks of 4096 ids, each a sorted list of 16-bit offsets while sparse (≤ 256 ids, at
// most 512 bytes) and a 512-byte bitmap once denser. Go's goroutine ids are mostly consecutive,
// so a million ended goroutines cost about 128 KiB; scattered (hostile) ids cost ~2 bytes each
// plus a map entry per chunk.
class IdSet {
 public:
  void Insert(uint64_t id) {
    Chunk& c = chunks_.Get(id >> kShift);
    const auto off = static_cast<uint16_t>(id & (kChunk - 1));
    if (!c.bits.empty()) {
      c.bits[off >> 6] |= 1ull << (off & 63);
      return;
    }
    auto it = std::lower_bound(c.list.begin(), c.list.end(), off);
    if (it != c.list.end() && *it == off) return;
    c.list.insert(it, off);
    if (c.list.size() > 256) {
      c.bits.assign(kChunk / 64, 0);
      for (uint16_t o : c.list) c.bits[o >> 6] |= 1ull << (o & 63);
      c.list.clear();
      c.list.shrink_to_fit();
    }
  }
  bool Contains(uint64_t id) const {
    const Chunk* c = chunks_.Find(id >> kShift);
    if (c == nullptr) return false;
    const auto off = static_cast<uint16_t>(id & (kChunk - 1));
    if (!c->bits.empty()) return (c->bits[off >> 6] >> (off & 63)) & 1;
    return std::binary_search(c->list.begin(), c->list.end(), off);
  }

 private:
  static constexpr int kShift = 12;
  static constexpr uint64_t kChunk = 1ull << kShift;
  struct Chunk {
    std::vector<uint16_t> list;
    std::vector<uint64_t> bits;
  };
  FlatMap<Chunk> chunks_;
};

}  // namespace tracetool::parser

#endif  // TRACETOOL_LIB_PARSER_FLAT_MAP_H_

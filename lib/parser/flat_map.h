// FlatMap: an open-addressing hash map from uint64_t keys to small values.
//
// The reader keeps per-goroutine state for every goroutine id it has seen; std::unordered_map's
// node per entry costs ~3× the memory and a cache miss per lookup. Linear probing over one array,
// capacity a power of two, load factor ≤ 1/2. No erase (the reader never forgets a goroutine,
// as Go's does not: a dead id must stay known so that its reuse is detected).
#ifndef TRACETOOL_LIB_PARSER_FLAT_MAP_H_
#define TRACETOOL_LIB_PARSER_FLAT_MAP_H_

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
  V* Find(uint64_t key) {
    size_t i = Slot(key);
    while (true) {
      Entry& e = entries_[i];
      if (!e.used) return nullptr;
      if (e.key == key) return &e.value;
      i = (i + 1) & mask_;
    }
  }
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

  template <typename F>
  void ForEach(F&& f) {
    for (Entry& e : entries_) {
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
};

}  // namespace tracetool::parser

#endif  // TRACETOOL_LIB_PARSER_FLAT_MAP_H_

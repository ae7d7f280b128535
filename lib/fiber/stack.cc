// Fiber stacks: mmap'd, with a PROT_NONE guard page below the usable range.
//
// MAP_NORESERVE means an untouched 256 KiB stack costs one or two resident pages, so the default
// size is generous. Stacks never grow or move (no _Gcopystack); README.md has the arithmetic.
//
// Stacks are carved from chunks of kChunkStacks (one mmap per chunk, not per stack: skynet-like
// bursts of new fibers spent most of their system time in mmap); each stack's guard page is
// still its own mprotect'ed page. A stack is freed by unmapping exactly its range, which the
// kernel allows inside a larger mapping, so freeing needs no chunk bookkeeping. Dead fibers keep
// their stacks (the G free lists in scheduler.cc), so the chunk only feeds new peaks. Chunks are
// MADV_NOHUGEPAGE: a transparent huge page would make one touched stack commit 2 MiB.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>

#include "lib/fiber/internal/runtime2.h"

namespace tracetool::fiber::internal {

std::atomic<uint64_t> stacks_live{0};

namespace {
size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}
}  // namespace

namespace {
constexpr size_t kChunkStacks = 64;
Lock pool_lock;
char* chunk_next = nullptr;  // The unused rest of the current chunk. Guarded by pool_lock.
char* chunk_end = nullptr;
size_t chunk_stride = 0;     // Bytes per stack, guard included, of the current chunk.

void DropChunkLocked() {
  if (chunk_next != nullptr && chunk_next < chunk_end) {
    munmap(chunk_next, static_cast<size_t>(chunk_end - chunk_next));
  }
  chunk_next = chunk_end = nullptr;
  chunk_stride = 0;
}
}  // namespace

bool StackAlloc(Stack* s, size_t size, bool guard) {
  const size_t page = PageSize();
  size = (size + page - 1) / page * page;
  const size_t guard_size = guard ? page : 0;
  const size_t stride = size + guard_size;
  char* map = nullptr;
  {
    LockGuard g(&pool_lock);
    if (chunk_stride != stride || chunk_next == nullptr || chunk_next + stride > chunk_end) {
      DropChunkLocked();
      const size_t len = stride * kChunkStacks;
      void* mem = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
      if (mem == MAP_FAILED) return false;
      madvise(mem, len, MADV_NOHUGEPAGE);
      chunk_next = static_cast<char*>(mem);
      chunk_end = chunk_next + len;
      chunk_stride = stride;
    }
    map = chunk_next;
    chunk_next += stride;
  }
  if (guard && mprotect(map, guard_size, PROT_NONE) != 0) {
    munmap(map, stride);
    return false;
  }
  s->map = map;
  s->map_size = stride;
  s->lo = s->map + guard_size;
  s->size = size;
  stacks_live.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void StackPoolRelease() {
  LockGuard g(&pool_lock);
  DropChunkLocked();
}

void StackFree(Stack* s) {
  if (s->map == nullptr) return;
  munmap(s->map, s->map_size);
  *s = Stack{};
  stacks_live.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace tracetool::fiber::internal

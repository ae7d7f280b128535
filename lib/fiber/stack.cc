// Fiber stacks: mmap'd, with a PROT_NONE guard page below the usable range.
//
// MAP_NORESERVE means an untouched 256 KiB stack costs one or two resident pages, so the default
// size is generous. Stacks never grow or move (no _Gcopystack); README.md has the arithmetic.
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

bool StackAlloc(Stack* s, size_t size, bool guard) {
  const size_t page = PageSize();
  size = (size + page - 1) / page * page;
  const size_t guard_size = guard ? page : 0;
  void* mem = mmap(nullptr, size + guard_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (mem == MAP_FAILED) return false;
  if (guard && mprotect(mem, guard_size, PROT_NONE) != 0) {
    munmap(mem, size + guard_size);
    return false;
  }
  s->map = static_cast<char*>(mem);
  s->map_size = size + guard_size;
  s->lo = s->map + guard_size;
  s->size = size;
  stacks_live.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void StackFree(Stack* s) {
  if (s->map == nullptr) return;
  munmap(s->map, s->map_size);
  *s = Stack{};
  stacks_live.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace tracetool::fiber::internal

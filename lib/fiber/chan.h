// Go channels and select for fibers.
//
//   tracetool::fiber::Chan<int> c(/*capacity=*/0);
//   tracetool::fiber::Go([&] { c.Send(42); c.Close(); });
//   while (std::optional<int> v = c.Recv()) Use(*v);   // nullopt: closed and drained
//
//   std::optional<int> got;
//   int v = 7;
//   switch (tracetool::fiber::Select({RecvCase(&c, &got), SendCase(&d, &v)})) { ... }
//
// Semantics are Go's: unbuffered channels rendezvous, buffered ones block only when full/empty,
// Close() wakes every waiting receiver (ok = false) and sender, a nil channel (null Chan*) in a
// select never becomes ready, and Select picks uniformly at random among ready cases.
// Misuse is a fatal error, as Go's panics are: send on a closed channel, close of a closed
// channel. Blocking calls are fiber-only; TrySend/TryRecv/TrySelect work from any thread.
// Not provided: channel direction types, len/cap races are as racy as Go's.
#ifndef TRACETOOL_LIB_FIBER_CHAN_H_
#define TRACETOOL_LIB_FIBER_CHAN_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "lib/fiber/fiber.h"
#include "lib/fiber/internal/lock.h"

namespace tracetool::fiber {
namespace internal {

struct G;
struct TimerEntry;
class ChanBase;

// A fiber waiting on a channel (Go's sudog). Lives on the waiting fiber's stack.
struct Sudog {
  G* g = nullptr;
  Sudog* next = nullptr;
  Sudog* prev = nullptr;
  void* elem = nullptr;        // Send: the T* to move from. Receive: the std::optional<T>* sink.
  ChanBase* c = nullptr;
  Sudog* waitlink = nullptr;   // Next sudog of the same select, in lock order.
  bool is_select = false;
  bool success = false;        // True if woken by a value transfer, false if by close.
};

struct WaitQ {
  Sudog* first = nullptr;
  Sudog* last = nullptr;
  void Enqueue(Sudog* s);
  Sudog* Dequeue();            // Skips select sudogs whose select already completed.
  void Remove(Sudog* s);       // Go's dequeueSudoG.
  bool empty() const { return first == nullptr; }
};

// Type-erased element operations, so the channel algorithm lives in chan.cc once.
struct ElemOps {
  void (*construct)(void* slot, void* src);  // new (slot) T(std::move(*src))
  void (*destroy)(void* slot);
  void (*deliver)(void* sink, void* src);    // sink->emplace(std::move(*src))
};

struct SelectCaseRaw;
enum class SelTry : uint8_t { kNotReady, kDone, kSendClosed };
SelTry SelTryLocked(const SelectCaseRaw& cas, G** wake);

// Go's hchan.
class ChanBase {
 public:
  ChanBase(size_t capacity, size_t elem_size, size_t elem_align, const ElemOps* ops);
  ~ChanBase();
  ChanBase(const ChanBase&) = delete;
  ChanBase& operator=(const ChanBase&) = delete;

  // Go's chansend: false only if !block and the send would block.
  bool Send(void* src, bool block);
  // Go's chanrecv: returns false only if !block and it would block; *received is false when
  // the channel is closed and drained. sink may be null (discard).
  bool Recv(void* sink, bool block, bool* received);
  void Close();
  size_t Len();
  size_t Cap() const { return dataqsiz_; }
  Lock* lock() { return &lock_; }  // For select's multi-channel locking.

 private:
  friend int SelectGo(const SelectCaseRaw* cases, int n, bool block);
  friend SelTry SelTryLocked(const SelectCaseRaw& cas, G** wake);
  friend bool SelParkCommit(G* gp, void* arg);
  void* Slot(size_t i) { return buf_ + i * elem_size_; }
  G* SendLocked(Sudog* sg, void* src);  // Go's send(); returns the G to ready after unlocking.
  G* RecvLocked(Sudog* sg, void* sink);  // Go's recv().
  // ParkLocked() queues the running G on q with elem, parks it (releasing lock_) and returns
  // whether the peer completed the operation (false: woken by Close). Called with lock_ held.
  bool ParkLocked(WaitQ* q, void* elem, WaitReason reason);

  Lock lock_;
  size_t qcount_ = 0;          // Guarded by lock_.
  const size_t dataqsiz_;
  const size_t elem_size_;
  char* buf_ = nullptr;
  bool closed_ = false;        // Guarded by lock_.
  size_t sendx_ = 0;           // Guarded by lock_.
  size_t recvx_ = 0;           // Guarded by lock_.
  WaitQ recvq_;                // Guarded by lock_.
  WaitQ sendq_;                // Guarded by lock_.
  const ElemOps* const ops_;
  const size_t elem_align_;
};

struct SelectCaseRaw {
  ChanBase* c;   // Null: a nil channel, never ready.
  void* elem;    // Send: T*. Receive: std::optional<T>* or null.
  bool send;
};

int SelectGo(const SelectCaseRaw* cases, int n, bool block);

template <typename T>
struct TypedOps {
  static void Construct(void* slot, void* src) { new (slot) T(std::move(*static_cast<T*>(src))); }
  static void Destroy(void* slot) { static_cast<T*>(slot)->~T(); }
  static void Deliver(void* sink, void* src) {
    static_cast<std::optional<T>*>(sink)->emplace(std::move(*static_cast<T*>(src)));
  }
  static constexpr ElemOps kOps{&Construct, &Destroy, &Deliver};
};

}  // namespace internal

template <typename T>
class Chan {
 public:
  // capacity 0 makes an unbuffered (synchronous) channel.
  explicit Chan(size_t capacity = 0)
      : base_(capacity, sizeof(T), alignof(T), &internal::TypedOps<T>::kOps) {}
  Chan(const Chan&) = delete;
  Chan& operator=(const Chan&) = delete;

  // Send() parks until a receiver or buffer slot takes v. Fatal if the channel is closed.
  void Send(T v) { base_.Send(&v, true); }
  // TrySend() sends only if that cannot block; returns whether it did (v is then moved from).
  bool TrySend(T& v) { return base_.Send(&v, false); }
  bool TrySend(T&& v) { return base_.Send(&v, false); }
  // Recv() parks until a value arrives; nullopt means closed and drained (Go's ok == false).
  std::optional<T> Recv() {
    std::optional<T> out;
    bool received = false;
    base_.Recv(&out, true, &received);
    return out;
  }
  // TryRecv() returns false if receiving would block; otherwise *out is the value, or nullopt
  // if the channel is closed and drained.
  bool TryRecv(std::optional<T>* out) {
    bool received = false;
    out->reset();
    return base_.Recv(out, false, &received);
  }
  // Close() wakes all receivers and makes further sends fatal. Fatal if already closed.
  void Close() { base_.Close(); }
  size_t Len() { return base_.Len(); }
  size_t Cap() const { return base_.Cap(); }

  internal::ChanBase* base() { return &base_; }

 private:
  internal::ChanBase base_;
};

using SelectCase = internal::SelectCaseRaw;

// SendCase(c, v): a select case sending *v on c (c null = nil channel). *v is moved from only
// if this case is chosen.
template <typename T>
SelectCase SendCase(Chan<T>* c, T* v) {
  return SelectCase{c ? c->base() : nullptr, v, true};
}
// RecvCase(c, out): a select case receiving into *out (nullopt if c was closed). out may be null.
template <typename T>
SelectCase RecvCase(Chan<T>* c, std::optional<T>* out) {
  if (out) out->reset();
  return SelectCase{c ? c->base() : nullptr, out, false};
}

// Select() blocks until one case proceeds and returns its index. With no non-nil cases it
// blocks forever (Go's `select {}`). Fiber only.
int Select(std::initializer_list<SelectCase> cases);
// TrySelect() is a select with a default case: returns -1 if no case is ready.
int TrySelect(std::initializer_list<SelectCase> cases);

// Timer: a one-shot timer (Go's time.Timer). Either sends the fire time on C(), or, if built
// with a function, runs it in a new fiber (Go's time.AfterFunc). Must outlive its pending fire
// or be stopped; the destructor stops it.
class Timer {
 public:
  explicit Timer(Clock::duration d);
  Timer(Clock::duration d, std::function<void()> f);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  Chan<Clock::time_point>& C() { return c_; }
  // Stop() prevents the timer from firing; returns true if it was pending.
  bool Stop();
  // Reset() re-arms the timer to fire after d; returns true if it was pending.
  bool Reset(Clock::duration d);

 private:
  static void Fire(void* arg, int64_t now);
  void Arm(Clock::duration d);
  Chan<Clock::time_point> c_{1};
  std::function<void()> f_;
  std::unique_ptr<internal::TimerEntry> entry_;
};

}  // namespace tracetool::fiber

#endif  // TRACETOOL_LIB_FIBER_CHAN_H_

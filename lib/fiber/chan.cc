// Channels and select (Go's chan.go and select.go, transcribed).
//
// The protocol that prevents lost wake-ups: a fiber enqueues its sudog while holding the
// channel lock(s) and parks with an unlock function, so the locks are released on the M's g0
// only after the fiber is kWaiting and off its stack. A waker therefore always finds a parked
// fiber (or none) under the lock, never a half-parked one. A select enqueues on every channel;
// the first waker to win the G's select_done CAS owns the wake-up, and the others skip that
// sudog (WaitQ::Dequeue), exactly as in Go.
#include "lib/fiber/chan.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "lib/fiber/internal/runtime2.h"

namespace tracetool::fiber {
namespace internal {

void WaitQ::Enqueue(Sudog* s) {
  s->next = nullptr;
  s->prev = last;
  if (last) {
    last->next = s;
  } else {
    first = s;
  }
  last = s;
}

void WaitQ::Remove(Sudog* s) {
  if (s->prev) {
    s->prev->next = s->next;
  } else if (first == s) {
    first = s->next;
  } else {
    return;  // Not on this queue (already dequeued by a waker).
  }
  if (s->next) {
    s->next->prev = s->prev;
  } else {
    last = s->prev;
  }
  s->next = s->prev = nullptr;
}

Sudog* WaitQ::Dequeue() {
  for (;;) {
    Sudog* s = first;
    if (s == nullptr) return nullptr;
    first = s->next;
    if (first) {
      first->prev = nullptr;
    } else {
      last = nullptr;
    }
    s->next = s->prev = nullptr;
    if (s->is_select) {
      uint32_t expect = 0;
      if (!s->g->select_done.compare_exchange_strong(expect, 1, std::memory_order_acq_rel)) {
        continue;  // Another case already won this select.
      }
    }
    return s;
  }
}

ChanBase::ChanBase(size_t capacity, size_t elem_size, size_t elem_align, const ElemOps* ops)
    : dataqsiz_(capacity), elem_size_(elem_size), ops_(ops), elem_align_(elem_align) {
  if (capacity > 0) {
    buf_ = static_cast<char*>(::operator new(capacity * elem_size, std::align_val_t(elem_align)));
  }
}

ChanBase::~ChanBase() {
  if (!recvq_.empty() || !sendq_.empty()) Throw("destroying a channel that fibers wait on");
  for (size_t i = 0; i < qcount_; i++) ops_->destroy(Slot((recvx_ + i) % dataqsiz_));
  if (buf_) ::operator delete(buf_, std::align_val_t(elem_align_));
}

size_t ChanBase::Len() {
  LockGuard g(&lock_);
  return qcount_;
}

namespace {
bool ChanParkCommit(G*, void* arg) {
  static_cast<Lock*>(arg)->Release();
  return true;
}
}  // namespace

G* ChanBase::SendLocked(Sudog* sg, void* src) {
  if (sg->elem) ops_->deliver(sg->elem, src);
  G* gp = sg->g;
  gp->param = sg;
  sg->success = true;
  return gp;
}

G* ChanBase::RecvLocked(Sudog* sg, void* sink) {
  if (dataqsiz_ == 0) {
    if (sink) ops_->deliver(sink, sg->elem);
  } else {
    // The queue is full: take its head, and put the sender's value at the tail (same slot).
    void* slot = Slot(recvx_);
    if (sink) ops_->deliver(sink, slot);
    ops_->destroy(slot);
    ops_->construct(slot, sg->elem);
    recvx_ = (recvx_ + 1) % dataqsiz_;
    sendx_ = recvx_;
  }
  G* gp = sg->g;
  gp->param = sg;
  sg->success = true;
  return gp;
}

bool ChanBase::Send(void* src, bool block) {
  if (block) PreemptionPoint();
  lock_.Acquire();
  if (closed_) {
    lock_.Release();
    Throw("send on closed channel");
  }
  if (Sudog* sg = recvq_.Dequeue()) {
    G* gp = SendLocked(sg, src);
    lock_.Release();
    Ready(gp);
    return true;
  }
  if (qcount_ < dataqsiz_) {
    ops_->construct(Slot(sendx_), src);
    sendx_ = (sendx_ + 1) % dataqsiz_;
    qcount_++;
    lock_.Release();
    return true;
  }
  if (!block) {
    lock_.Release();
    return false;
  }
  if (!ParkLocked(&sendq_, src, WaitReason::kChanSend)) Throw("send on closed channel");
  return true;
}

bool ChanBase::Recv(void* sink, bool block, bool* received) {
  if (block) PreemptionPoint();
  lock_.Acquire();
  if (closed_ && qcount_ == 0) {
    lock_.Release();
    *received = false;
    return true;
  }
  if (Sudog* sg = sendq_.Dequeue()) {
    G* gp = RecvLocked(sg, sink);
    lock_.Release();
    Ready(gp);
    *received = true;
    return true;
  }
  if (qcount_ > 0) {
    void* slot = Slot(recvx_);
    if (sink) ops_->deliver(sink, slot);
    ops_->destroy(slot);
    recvx_ = (recvx_ + 1) % dataqsiz_;
    qcount_--;
    lock_.Release();
    *received = true;
    return true;
  }
  if (!block) {
    lock_.Release();
    return false;
  }
  *received = ParkLocked(&recvq_, sink, WaitReason::kChanReceive);
  return true;
}

bool ChanBase::ParkLocked(WaitQ* q, void* elem, WaitReason reason) {
  G* gp = MustGetG();
  Sudog mysg;
  mysg.g = gp;
  mysg.elem = elem;
  mysg.c = this;
  gp->param = nullptr;
  q->Enqueue(&mysg);
  Gopark(ChanParkCommit, &lock_, reason);
  gp->param = nullptr;
  return mysg.success;
}

void ChanBase::Close() {
  G* glist = nullptr;
  lock_.Acquire();
  if (closed_) {
    lock_.Release();
    Throw("close of closed channel");
  }
  closed_ = true;
  while (Sudog* sg = recvq_.Dequeue()) {
    sg->success = false;
    sg->g->param = sg;
    sg->g->schedlink = glist;
    glist = sg->g;
  }
  while (Sudog* sg = sendq_.Dequeue()) {
    sg->success = false;
    sg->g->param = sg;
    sg->g->schedlink = glist;
    glist = sg->g;
  }
  lock_.Release();
  while (glist) {
    G* next = glist->schedlink;
    glist->schedlink = nullptr;
    Ready(glist);
    glist = next;
  }
}

namespace {

uint32_t CheapRand() {
  // The running P's generator (owner only, no shared cache line); off a P, a global counter
  // through a mixer.
  if (uint32_t r = FastRandHere()) return r;
  static std::atomic<uint64_t> seed{0x9E3779B97F4A7C15ull};
  uint64_t x = seed.fetch_add(0x9E3779B97F4A7C15ull, std::memory_order_relaxed);
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return static_cast<uint32_t>(x);
}

struct SelState {
  const SelectCaseRaw* cases;
  const uint16_t* lockorder;
  int nlock;
};

void SelLock(const SelState& s) {
  ChanBase* prev = nullptr;
  for (int i = 0; i < s.nlock; i++) {
    ChanBase* c = s.cases[s.lockorder[i]].c;
    if (c != prev) {
      c->lock()->Acquire();
      prev = c;
    }
  }
}

void SelUnlock(const SelState& s) {
  // Unlock in reverse; a channel that appears several times is unlocked once.
  for (int i = s.nlock - 1; i >= 0; i--) {
    ChanBase* c = s.cases[s.lockorder[i]].c;
    if (i > 0 && c == s.cases[s.lockorder[i - 1]].c) continue;
    c->lock()->Release();
  }
}

}  // namespace

// One select case, its channel locked (Go's selectgo pass 1 body). *wake is a G to Ready()
// once the lock is released.
SelTry SelTryLocked(const SelectCaseRaw& cas, G** wake) {
  ChanBase* c = cas.c;
  if (!cas.send) {
    if (Sudog* sg = c->sendq_.Dequeue()) {
      *wake = c->RecvLocked(sg, cas.elem);
      return SelTry::kDone;
    }
    if (c->qcount_ > 0) {
      void* slot = c->Slot(c->recvx_);
      if (cas.elem) c->ops_->deliver(cas.elem, slot);
      c->ops_->destroy(slot);
      c->recvx_ = (c->recvx_ + 1) % c->dataqsiz_;
      c->qcount_--;
      return SelTry::kDone;
    }
    if (c->closed_) return SelTry::kDone;  // *elem stays nullopt: Go's ok == false.
    return SelTry::kNotReady;
  }
  if (c->closed_) return SelTry::kSendClosed;
  if (Sudog* sg = c->recvq_.Dequeue()) {
    *wake = c->SendLocked(sg, cas.elem);
    return SelTry::kDone;
  }
  if (c->qcount_ < c->dataqsiz_) {
    c->ops_->construct(c->Slot(c->sendx_), cas.elem);
    c->sendx_ = (c->sendx_ + 1) % c->dataqsiz_;
    c->qcount_++;
    return SelTry::kDone;
  }
  return SelTry::kNotReady;
}

bool SelParkCommit(G*, void* arg) {
  SelUnlock(*static_cast<SelState*>(arg));
  return true;
}

int SelectGo(const SelectCaseRaw* cases, int n, bool block) {
  if (block) PreemptionPoint();
  uint16_t order_buf[2 * 16];
  std::unique_ptr<uint16_t[]> order_heap;
  uint16_t* pollorder = order_buf;
  if (n > 16) {
    order_heap.reset(new uint16_t[2 * static_cast<size_t>(n)]);
    pollorder = order_heap.get();
  }
  uint16_t* lockorder = pollorder + n;

  // Random poll order over non-nil cases (Go's inside-out Fisher-Yates).
  int norder = 0;
  for (int i = 0; i < n; i++) {
    if (cases[i].c == nullptr) continue;
    const int j = static_cast<int>(CheapRand() % static_cast<uint32_t>(norder + 1));
    pollorder[norder] = pollorder[j];
    pollorder[j] = static_cast<uint16_t>(i);
    norder++;
  }
  if (norder == 0) {
    if (!block) return -1;
    Gopark(nullptr, nullptr, WaitReason::kSelectNoCases);
    Throw("select (no cases): resumed");
  }
  // Pass 0: try each case alone, under its own channel's lock, in poll order. Each try is
  // linearizable on its own, so the first ready case found is a valid outcome of a select that
  // ran at that instant; this spares the common ready-case select (and every TrySelect that
  // finds nothing) the address sort and the all-channel locking of the blocking path.
  for (int k = 0; k < norder; k++) {
    const int i = pollorder[k];
    ChanBase* c = cases[i].c;
    G* wake = nullptr;
    c->lock()->Acquire();
    const SelTry r = SelTryLocked(cases[i], &wake);
    c->lock()->Release();
    if (r == SelTry::kSendClosed) Throw("send on closed channel");
    if (r == SelTry::kDone) {
      if (wake) Ready(wake);
      return i;
    }
  }
  if (!block) return -1;

  // Lock order: by channel address, so concurrent selects cannot deadlock. Insertion sort:
  // selects are small.
  std::copy(pollorder, pollorder + norder, lockorder);
  for (int k = 1; k < norder; k++) {
    const uint16_t v = lockorder[k];
    int j = k;
    for (; j > 0 && std::less<ChanBase*>()(cases[v].c, cases[lockorder[j - 1]].c); j--) {
      lockorder[j] = lockorder[j - 1];
    }
    lockorder[j] = v;
  }
  SelState st{cases, lockorder, norder};
  SelLock(st);

  // Pass 1: something ready now that every channel is locked?
  for (int k = 0; k < norder; k++) {
    const int i = pollorder[k];
    G* wake = nullptr;
    const SelTry r = SelTryLocked(cases[i], &wake);
    if (r == SelTry::kSendClosed) {
      SelUnlock(st);
      Throw("send on closed channel");
    }
    if (r == SelTry::kDone) {
      SelUnlock(st);
      if (wake) Ready(wake);
      return i;
    }
  }


  // Pass 2: enqueue on every channel, in lock order, and park.
  G* gp = MustGetG();
  Sudog sg_buf[16];
  std::unique_ptr<Sudog[]> sg_heap;
  Sudog* sgs = sg_buf;
  if (norder > 16) {
    sg_heap.reset(new Sudog[static_cast<size_t>(norder)]);
    sgs = sg_heap.get();
  }
  gp->param = nullptr;
  gp->select_done.store(0, std::memory_order_relaxed);
  for (int k = 0; k < norder; k++) {
    const SelectCaseRaw& cas = cases[lockorder[k]];
    Sudog* sg = &sgs[k];
    sg->g = gp;
    sg->is_select = true;
    sg->elem = cas.elem;
    sg->c = cas.c;
    sg->waitlink = k + 1 < norder ? &sgs[k + 1] : nullptr;
    if (cas.send) {
      cas.c->sendq_.Enqueue(sg);
    } else {
      cas.c->recvq_.Enqueue(sg);
    }
  }
  gp->waiting = sgs;
  Gopark(SelParkCommit, &st, WaitReason::kSelect);

  // Pass 3: woken by exactly one case; unlink from the others.
  SelLock(st);
  gp->select_done.store(0, std::memory_order_relaxed);
  Sudog* won = gp->param;
  gp->param = nullptr;
  gp->waiting = nullptr;
  int casi = -1;
  bool success = false;
  for (int k = 0; k < norder; k++) {
    const SelectCaseRaw& cas = cases[lockorder[k]];
    if (&sgs[k] == won) {
      casi = lockorder[k];
      success = won->success;
    } else if (cas.send) {
      cas.c->sendq_.Remove(&sgs[k]);
    } else {
      cas.c->recvq_.Remove(&sgs[k]);
    }
  }
  SelUnlock(st);
  if (casi < 0) Throw("selectgo: bad wakeup");
  if (cases[casi].send && !success) Throw("send on closed channel");
  return casi;
}

}  // namespace internal

int Select(std::initializer_list<SelectCase> cases) {
  return internal::SelectGo(cases.begin(), static_cast<int>(cases.size()), true);
}

int TrySelect(std::initializer_list<SelectCase> cases) {
  return internal::SelectGo(cases.begin(), static_cast<int>(cases.size()), false);
}

// ---- Timer ----

Timer::Timer(Clock::duration d) : entry_(new internal::TimerEntry()) { Arm(d); }

Timer::Timer(Clock::duration d, std::function<void()> f)
    : f_(std::move(f)), entry_(new internal::TimerEntry()) {
  Arm(d);
}

Timer::~Timer() { Stop(); }

void Timer::Arm(Clock::duration d) {
  entry_->when = internal::Nanotime() +
                 std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  entry_->f = &Timer::Fire;
  entry_->arg = this;
  internal::AddTimer(entry_.get());
}

void Timer::Fire(void* arg, int64_t now) {
  auto* t = static_cast<Timer*>(arg);
  if (t->f_) {
    Go(t->f_);
  } else {
    t->c_.TrySend(Clock::time_point(std::chrono::nanoseconds(now)));
  }
}

bool Timer::Stop() { return internal::DelTimer(entry_.get()); }

bool Timer::Reset(Clock::duration d) {
  const bool was = Stop();
  Arm(d);
  return was;
}

}  // namespace tracetool::fiber

// The netpoller (Go's netpoll.go + netpoll_epoll.go) and the TCP wrappers over it.
//
// Each registered fd has a PollDesc with two semaphores, rg and wg, each holding 0, kPdReady,
// kPdWait or the G* parked on it (Go's encoding). Registration is edge-triggered, so one
// epoll_ctl per fd lifetime. PollDescs are never freed while the runtime runs (Go's pollCache
// does the same): an epoll_wait on another M may still hold an event for a closed fd, and a
// stale event only causes a spurious wake-up, never a use-after-free.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <string>

#include "lib/fiber/internal/runtime2.h"
#include "lib/fiber/net.h"

namespace tracetool::fiber {
namespace internal {

std::atomic<int32_t> netpoll_waiters{0};

struct PollDesc {
  std::atomic<uintptr_t> rg{0};
  std::atomic<uintptr_t> wg{0};
  std::atomic<bool> closing{false};
  PollDesc* link = nullptr;  // Free list. Guarded by pd_lock.
  // Deadlines (Go's pd.rd/pd.wd): 0 none, > 0 a Nanotime() that a timer (rt/wt) watches,
  // kDeadlineExpired once it passed. Set by the PollFd's owner; the timers write only
  // kDeadlineExpired. A timer is armed only while its deadline is in the future.
  std::atomic<int64_t> rd{0};
  std::atomic<int64_t> wd{0};
  TimerEntry rt;
  TimerEntry wt;
};

namespace {

constexpr uintptr_t kPdReady = 1;
constexpr uintptr_t kPdWait = 2;
constexpr int64_t kDeadlineExpired = -1;

int epfd = -1;
int break_fd = -1;
std::atomic<uint32_t> wake_sig{0};
Lock pd_lock;
PollDesc* pd_free = nullptr;          // Guarded by pd_lock.
std::vector<PollDesc*>* pd_all = nullptr;  // Guarded by pd_lock.

PollDesc* PdAlloc() {
  LockGuard g(&pd_lock);
  PollDesc* pd = pd_free;
  if (pd) {
    pd_free = pd->link;
  } else {
    pd = new PollDesc();
    if (!pd_all) pd_all = new std::vector<PollDesc*>();
    pd_all->push_back(pd);
  }
  pd->rg.store(0);
  pd->wg.store(0);
  pd->closing.store(false);
  pd->rd.store(0);
  pd->wd.store(0);
  return pd;
}

void PdFree(PollDesc* pd) {
  LockGuard g(&pd_lock);
  pd->link = pd_free;
  pd_free = pd;
}

G* NetpollUnblock(std::atomic<uintptr_t>* gpp, bool ioready) {
  for (;;) {
    uintptr_t old = gpp->load(std::memory_order_acquire);
    if (old == kPdReady) return nullptr;
    if (old == 0 && !ioready) return nullptr;
    const uintptr_t nw = ioready ? kPdReady : 0;
    if (gpp->compare_exchange_strong(old, nw, std::memory_order_acq_rel)) {
      if (old == kPdWait) return nullptr;  // Not parked yet; it will see kPdReady.
      return reinterpret_cast<G*>(old);
    }
  }
}

struct BlockArg {
  std::atomic<uintptr_t>* gpp;
  bool parked;
};

bool NetpollBlockCommit(G* gp, void* arg) {
  auto* b = static_cast<BlockArg*>(arg);
  uintptr_t expect = kPdWait;
  // Count the waiter before publishing the G so that an M deciding whether to block in
  // netpoll sees it.
  // Everything the woken fiber reads must be written before the CAS publishes it: from then
  // on a netpoller may ready it on another M.
  netpoll_waiters.fetch_add(1);
  b->parked = true;
  if (b->gpp->compare_exchange_strong(expect, reinterpret_cast<uintptr_t>(gp),
                                      std::memory_order_acq_rel)) {
    return true;
  }
  b->parked = false;
  netpoll_waiters.fetch_sub(1);
  return false;
}

// Go's netpollcheckerr: 0, ECANCELED (closing) or ETIMEDOUT (the deadline passed).
int NetpollCheckErr(PollDesc* pd, bool read) {
  if (pd->closing.load()) return ECANCELED;
  if ((read ? pd->rd : pd->wd).load() == kDeadlineExpired) return ETIMEDOUT;
  return 0;
}

// Go's netpollblock: returns true if IO is ready, false if woken by close or a deadline.
bool NetpollBlock(PollDesc* pd, bool read) {
  std::atomic<uintptr_t>* gpp = read ? &pd->rg : &pd->wg;
  for (;;) {
    uintptr_t expect = kPdReady;
    if (gpp->compare_exchange_strong(expect, 0, std::memory_order_acq_rel)) return true;
    expect = 0;
    if (gpp->compare_exchange_strong(expect, kPdWait, std::memory_order_acq_rel)) break;
    if (expect != kPdReady) Throw("netpollblock: double wait");
  }
  // Re-check after publishing kPdWait: a Close or deadline timer that ran before it found no
  // waiter to wake; one that runs after it turns kPdWait into 0, so the park commit fails.
  if (NetpollCheckErr(pd, read) == 0) {
    BlockArg arg{gpp, false};
    Gopark(NetpollBlockCommit, &arg, WaitReason::kIOWait);
    if (arg.parked) netpoll_waiters.fetch_sub(1);
  }
  return gpp->exchange(0, std::memory_order_acq_rel) == kPdReady;
}

// Go's netpollReadDeadline/netpollWriteDeadline: runs on a g0 with timer_lock held.
void DeadlineFired(PollDesc* pd, bool read) {
  std::atomic<int64_t>& d = read ? pd->rd : pd->wd;
  int64_t when = d.load();
  if (when <= 0) return;  // Reset or cleared meanwhile.
  if (!d.compare_exchange_strong(when, kDeadlineExpired)) return;
  if (G* gp = NetpollUnblock(read ? &pd->rg : &pd->wg, false)) Ready(gp);
}
void ReadDeadlineFired(void* arg, int64_t) { DeadlineFired(static_cast<PollDesc*>(arg), true); }
void WriteDeadlineFired(void* arg, int64_t) { DeadlineFired(static_cast<PollDesc*>(arg), false); }

// Go's poll_runtime_pollSetDeadline for one direction. when: 0 none, else a Nanotime().
void SetDeadline(PollDesc* pd, bool read, int64_t when) {
  TimerEntry* t = read ? &pd->rt : &pd->wt;
  std::atomic<int64_t>& d = read ? pd->rd : pd->wd;
  DelTimer(t);  // Synchronous: a callback that already started has finished.
  if (when == 0) {
    d.store(0);
    return;
  }
  if (when > Nanotime()) {
    d.store(when);
    t->when = when;
    t->f = read ? ReadDeadlineFired : WriteDeadlineFired;
    t->arg = pd;
    AddTimer(t);
    return;
  }
  d.store(kDeadlineExpired);  // Already past: wake a waiter now, as Go does.
  if (G* gp = NetpollUnblock(read ? &pd->rg : &pd->wg, false)) Ready(gp);
}

void PrependG(G** list, G* gp) {
  if (!gp) return;
  gp->schedlink = *list;
  *list = gp;
}

}  // namespace

void NetpollInit() {
  epfd = epoll_create1(EPOLL_CLOEXEC);
  break_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd < 0 || break_fd < 0) Throw("netpollinit: epoll_create1/eventfd failed");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &break_fd;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, break_fd, &ev) != 0) Throw("netpollinit: epoll_ctl failed");
  wake_sig.store(0);
}

void NetpollClose() {
  close(epfd);
  close(break_fd);
  epfd = break_fd = -1;
  LockGuard g(&pd_lock);
  if (pd_all) {
    for (PollDesc* pd : *pd_all) delete pd;
    delete pd_all;
    pd_all = nullptr;
  }
  pd_free = nullptr;
}

bool NetpollInited() { return epfd >= 0; }

void NetpollBreak() {
  uint32_t expect = 0;
  if (!wake_sig.compare_exchange_strong(expect, 1)) return;
  uint64_t one = 1;
  ssize_t r = write(break_fd, &one, sizeof(one));
  (void)r;
}

G* Netpoll(int64_t delay_ns) {
  int timeout_ms;
  if (delay_ns < 0) {
    timeout_ms = -1;
  } else if (delay_ns == 0) {
    timeout_ms = 0;
  } else if (delay_ns < 1000000) {
    timeout_ms = 1;
  } else if (delay_ns < 1000000LL * INT_MAX) {
    timeout_ms = static_cast<int>((delay_ns + 999999) / 1000000);
  } else {
    timeout_ms = INT_MAX;
  }
  epoll_event events[128];
  int n = epoll_wait(epfd, events, 128, timeout_ms);
  G* list = nullptr;
  for (int i = 0; i < n; i++) {
    const epoll_event& ev = events[i];
    if (ev.data.ptr == &break_fd) {
      if (delay_ns != 0) {
        // Re-arm before draining: a NetpollBreak() racing with the drain then writes again
        // (a spurious wake-up later at worst) instead of being swallowed by its CAS while
        // wake_sig still reads 1 -- which once left the next poller asleep until its timer
        // after main returned.
        wake_sig.store(0);
        uint64_t v;
        ssize_t r = read(break_fd, &v, sizeof(v));
        (void)r;
      }
      continue;
    }
    auto* pd = static_cast<PollDesc*>(ev.data.ptr);
    const bool r = ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
    const bool w = ev.events & (EPOLLOUT | EPOLLHUP | EPOLLERR);
    if (r) PrependG(&list, NetpollUnblock(&pd->rg, true));
    if (w) PrependG(&list, NetpollUnblock(&pd->wg, true));
  }
  return list;
}

}  // namespace internal

// ---- PollFd ----

PollFd& PollFd::operator=(PollFd&& o) noexcept {
  if (this != &o) {
    Close();
    fd_ = o.fd_;
    pd_ = o.pd_;
    o.fd_ = -1;
    o.pd_ = nullptr;
  }
  return *this;
}

int PollFd::Open(int fd) {
  Close();
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return errno;
  internal::PollDesc* pd = internal::PdAlloc();
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = pd;
  if (epoll_ctl(internal::epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    int err = errno;
    internal::PdFree(pd);
    return err;
  }
  fd_ = fd;
  pd_ = pd;
  return 0;
}

namespace {
int Wait(internal::PollDesc* pd, bool read) {
  PreemptionPoint();
  if (pd == nullptr) return EBADF;
  for (;;) {
    if (int err = internal::NetpollCheckErr(pd, read)) return err;
    if (internal::NetpollBlock(pd, read)) return 0;
    // Woken without readiness: closing or a deadline (checked above), else a deadline that
    // was reset before we ran again; wait on.
  }
}

int64_t DeadlineNs(Clock::time_point t) {
  if (t == Clock::time_point{}) return 0;
  const int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return ns <= 0 ? 1 : ns;  // 1: long past, still "a deadline".
}
}  // namespace

int PollFd::WaitRead() { return Wait(pd_, true); }

int PollFd::WaitWrite() { return Wait(pd_, false); }

int PollFd::CheckRead() const { return pd_ ? internal::NetpollCheckErr(pd_, true) : EBADF; }

int PollFd::CheckWrite() const { return pd_ ? internal::NetpollCheckErr(pd_, false) : EBADF; }

void PollFd::SetReadDeadline(Clock::time_point t) {
  if (pd_) internal::SetDeadline(pd_, true, DeadlineNs(t));
}

void PollFd::SetWriteDeadline(Clock::time_point t) {
  if (pd_) internal::SetDeadline(pd_, false, DeadlineNs(t));
}

void PollFd::SetDeadline(Clock::time_point t) {
  SetReadDeadline(t);
  SetWriteDeadline(t);
}

void PollFd::Close() {
  if (pd_ == nullptr) return;
  epoll_ctl(internal::epfd, EPOLL_CTL_DEL, fd_, nullptr);
  internal::DelTimer(&pd_->rt);
  internal::DelTimer(&pd_->wt);
  pd_->closing.store(true);
  internal::G* rg = internal::NetpollUnblock(&pd_->rg, false);
  internal::G* wg = internal::NetpollUnblock(&pd_->wg, false);
  if (rg) internal::Ready(rg);
  if (wg) internal::Ready(wg);
  internal::PdFree(pd_);
  pd_ = nullptr;
  fd_ = -1;
}

// ---- Conn ----

namespace {
int ParseAddr(std::string_view ip, uint16_t port, sockaddr_in* sa) {
  *sa = sockaddr_in{};
  sa->sin_family = AF_INET;
  sa->sin_port = htons(port);
  std::string s(ip);
  if (inet_pton(AF_INET, s.c_str(), &sa->sin_addr) != 1) return EINVAL;
  return 0;
}
}  // namespace

Conn& Conn::operator=(Conn&& o) noexcept {
  if (this != &o) {
    Close();
    pfd_ = std::move(o.pfd_);
  }
  return *this;
}

int Conn::Adopt(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (int err = pfd_.Open(fd)) {
    close(fd);
    return err;
  }
  return 0;
}

int Conn::Dial(std::string_view ip, uint16_t port, Conn* out) {
  return DialTimeout(ip, port, Clock::duration::zero(), out);
}

int Conn::DialTimeout(std::string_view ip, uint16_t port, Clock::duration timeout, Conn* out) {
  sockaddr_in sa;
  if (int err = ParseAddr(ip, port, &sa)) return err;
  out->Close();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  if (int err = out->Adopt(fd)) return err;
  if (timeout > Clock::duration::zero()) {
    out->pfd_.SetWriteDeadline(Clock::now() + timeout);
    const int err = out->ConnectWait(fd, sa);
    if (err == 0) out->pfd_.SetWriteDeadline(Clock::time_point{});
    return err;
  }
  return out->ConnectWait(fd, sa);
}

int Conn::ConnectWait(int fd, const sockaddr_in& sa) {
  Conn* out = this;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    if (errno != EINPROGRESS) {
      int err = errno;
      out->Close();
      return err;
    }
    for (;;) {
      if (int err = out->pfd_.WaitWrite()) {
        out->Close();
        return err;
      }
      int soerr = 0;
      socklen_t len = sizeof(soerr);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
      if (soerr == 0) {
        // The poller can wake us spuriously (an fd number reused, a stale readiness), and
        // SO_ERROR is 0 while the connect is still in progress: only a peer address proves the
        // connection is up (Go's netFD.connect checks the same way); otherwise wait again.
        sockaddr_in peer{};
        socklen_t plen = sizeof(peer);
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) == 0) break;
        if (errno != ENOTCONN) {
          const int err = errno;
          out->Close();
          return err;
        }
        continue;
      }
      if (soerr != EINPROGRESS && soerr != EALREADY && soerr != EINTR) {
        out->Close();
        return soerr;
      }
    }
  }
  return 0;
}

ssize_t Conn::Read(void* buf, size_t n) {
  PreemptionPoint();
  if (int err = pfd_.CheckRead()) return -err;  // Go's prepareRead: a passed deadline sticks.
  for (;;) {
    ssize_t r = read(pfd_.fd(), buf, n);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return -errno;
    if (int err = pfd_.WaitRead()) return -err;
  }
}

ssize_t Conn::ReadFull(void* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = Read(static_cast<char*>(buf) + done, n - done);
    if (r < 0) return r;
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

ssize_t Conn::Write(const void* buf, size_t n) {
  PreemptionPoint();
  if (int err = pfd_.CheckWrite()) return -err;
  size_t done = 0;
  while (done < n) {
    ssize_t r = send(pfd_.fd(), static_cast<const char*>(buf) + done, n - done, MSG_NOSIGNAL);
    if (r >= 0) {
      done += static_cast<size_t>(r);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return -errno;
    if (int err = pfd_.WaitWrite()) return -err;
  }
  return static_cast<ssize_t>(n);
}

void Conn::Close() {
  const int fd = pfd_.fd();
  if (fd < 0) return;
  pfd_.Close();
  close(fd);
}

// ---- Listener ----

int Listener::Listen(std::string_view ip, uint16_t port, Listener* out, int backlog) {
  sockaddr_in sa;
  if (int err = ParseAddr(ip, port, &sa)) return err;
  out->Close();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, backlog) != 0) {
    int err = errno;
    close(fd);
    return err;
  }
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  out->port_ = ntohs(sa.sin_port);
  if (int err = out->pfd_.Open(fd)) {
    close(fd);
    return err;
  }
  return 0;
}

int Listener::Accept(Conn* out) {
  PreemptionPoint();
  if (int err = pfd_.CheckRead()) return err;
  for (;;) {
    int fd = accept4(pfd_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      out->Close();
      return out->Adopt(fd);
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN) return errno;
    if (int err = pfd_.WaitRead()) return err;
  }
}

void Listener::Close() {
  const int fd = pfd_.fd();
  if (fd < 0) return;
  pfd_.Close();
  close(fd);
}

}  // namespace tracetool::fiber

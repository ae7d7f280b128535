// Fiber-blocking TCP and fd readiness on the runtime's epoll netpoller.
//
//   tracetool::fiber::Listener ln;
//   if (int err = tracetool::fiber::Listener::Listen("127.0.0.1", 0, &ln)) { ... strerror(err) }
//   tracetool::fiber::Conn c;
//   ln.Accept(&c);                    // parks the fiber until a client connects
//   char buf[512];
//   ssize_t n = c.Read(buf, sizeof buf);
//
// Errors are errno values (0 = success; reads/writes return -errno), never exceptions.
// Not provided: UDP, IPv6 name resolution (hosts are numeric IPv4 addresses).
// All calls are fiber-only; one reader and one writer may wait on a socket at a time.
//
// Deadlines work as Go's SetDeadline: an absolute time per direction after which a waiting or
// new Read/Accept (read side) or Write/connect (write side) fails with ETIMEDOUT ("i/o
// timeout") instead of blocking, and keeps failing until the deadline is moved or cleared
// (Clock::time_point{} = none). The parked fiber is woken by a runtime timer, not polled.
//
//   c.SetReadDeadline(fiber::Clock::now() + 100ms);
//   ssize_t n = c.Read(buf, sizeof buf);  // -ETIMEDOUT if nothing arrived within 100 ms
#ifndef TRACETOOL_LIB_FIBER_NET_H_
#define TRACETOOL_LIB_FIBER_NET_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lib/fiber/fiber.h"

struct sockaddr_in;

namespace tracetool::fiber {

namespace internal {
struct PollDesc;
}

// PollFd registers a non-blocking fd with the netpoller so fibers can wait for readiness.
// Does not own the fd. Move-only.
class PollFd {
 public:
  PollFd() = default;
  ~PollFd() { Close(); }
  PollFd(PollFd&& o) noexcept : fd_(o.fd_), pd_(o.pd_) { o.fd_ = -1, o.pd_ = nullptr; }
  PollFd& operator=(PollFd&& o) noexcept;
  PollFd(const PollFd&) = delete;
  PollFd& operator=(const PollFd&) = delete;

  // Open() sets O_NONBLOCK on fd and registers it. Returns 0 or an errno.
  int Open(int fd);
  // WaitRead()/WaitWrite() park until the fd may be readable/writable. 0, ECANCELED if
  // Close() ran concurrently, ETIMEDOUT if that direction's deadline passed (before or while
  // waiting), EBADF if not open.
  int WaitRead();
  int WaitWrite();
  // Deadlines (see the top of this file). t = Clock::time_point{} clears; a time already past
  // makes waits fail at once and wakes a fiber waiting now. Any thread or fiber; not
  // concurrently with Close().
  void SetDeadline(Clock::time_point t);
  void SetReadDeadline(Clock::time_point t);
  void SetWriteDeadline(Clock::time_point t);
  // 0, or the error a wait would return without waiting (ECANCELED, ETIMEDOUT, EBADF).
  int CheckRead() const;
  int CheckWrite() const;
  // Close() unregisters (waking a fiber parked in WaitRead/WaitWrite with ECANCELED); it does
  // not close the fd. It must not race with the start of a wait on the same PollFd.
  void Close();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  internal::PollDesc* pd_ = nullptr;
};

// A connected TCP socket. Owns its fd. Move-only.
class Conn {
 public:
  Conn() = default;
  ~Conn() { Close(); }
  Conn(Conn&&) noexcept = default;
  Conn& operator=(Conn&& o) noexcept;

  // Dial() connects to ip:port (numeric IPv4). Returns 0 or an errno.
  static int Dial(std::string_view ip, uint16_t port, Conn* out);
  // DialTimeout() gives up with ETIMEDOUT when the connection is not up within timeout
  // (<= 0: no limit, as Dial).
  static int DialTimeout(std::string_view ip, uint16_t port, Clock::duration timeout,
                         Conn* out);
  // Deadlines for Read/ReadFull (read side) and Write (write side); see the top of this file.
  void SetDeadline(Clock::time_point t) { pfd_.SetDeadline(t); }
  void SetReadDeadline(Clock::time_point t) { pfd_.SetReadDeadline(t); }
  void SetWriteDeadline(Clock::time_point t) { pfd_.SetWriteDeadline(t); }
  // Read() returns bytes read (> 0), 0 at EOF, or -errno.
  ssize_t Read(void* buf, size_t n);
  // ReadFull() reads exactly n bytes unless EOF/error; returns bytes read or -errno.
  ssize_t ReadFull(void* buf, size_t n);
  // Write() writes all n bytes; returns n or -errno.
  ssize_t Write(const void* buf, size_t n);
  void Close();
  int fd() const { return pfd_.fd(); }
  bool valid() const { return pfd_.fd() >= 0; }

 private:
  friend class Listener;
  int Adopt(int fd);
  int ConnectWait(int fd, const sockaddr_in& sa);
  PollFd pfd_;
};

// A listening TCP socket. Owns its fd. Move-only.
class Listener {
 public:
  Listener() = default;
  ~Listener() { Close(); }
  Listener(Listener&&) noexcept = default;

  // Listen() binds ip:port (port 0 picks a free one, see port()). Returns 0 or an errno.
  static int Listen(std::string_view ip, uint16_t port, Listener* out, int backlog = 4096);
  // Accept() parks until a connection arrives. Returns 0 or an errno (ETIMEDOUT once the
  // deadline passed).
  int Accept(Conn* out);
  void SetDeadline(Clock::time_point t) { pfd_.SetReadDeadline(t); }
  uint16_t port() const { return port_; }
  void Close();

 private:
  PollFd pfd_;
  uint16_t port_ = 0;
};

}  // namespace tracetool::fiber

#endif  // TRACETOOL_LIB_FIBER_NET_H_

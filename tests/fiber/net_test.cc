// Netpoller tests on 127.0.0.1 only: echo with many concurrent connections, readiness waits on
// a pipe, EOF and close wake-ups.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "lib/fiber/chan.h"
#include "lib/fiber/fiber.h"
#include "lib/fiber/net.h"
#include "lib/fiber/sync.h"
#include "tests/fiber/fiber_test_util.h"

namespace tracetool::fiber {
namespace {

using testing::ProcsTest;
using testing::RunFibers;

class NetTest : public ProcsTest {};

// Each client sends kMessages messages and checks every echo; the server runs one fiber per
// connection. All fds are non-blocking and every wait parks a fiber on the netpoller.
TEST_P(NetTest, EchoManyConnections) {
  rlimit rl;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  const int conns = std::min<int>(2000 / testing::kSanitizerSlowdown,
                                  static_cast<int>(rl.rlim_cur / 2) - 64);
  ASSERT_GT(conns, 50);
  constexpr int kMessages = 10;
  std::atomic<int> ok_clients{0};
  RunFibers(procs(), [&] {
    Listener ln;
    ASSERT_EQ(Listener::Listen("127.0.0.1", 0, &ln), 0);
    const uint16_t port = ln.port();
    WaitGroup servers;
    Go([&] {
      for (int i = 0; i < conns; i++) {
        auto c = std::make_shared<Conn>();
        if (ln.Accept(c.get()) != 0) {
          ADD_FAILURE() << "accept failed";
          return;
        }
        servers.Add(1);
        Go([c, &servers] {
          char buf[256];
          for (;;) {
            ssize_t n = c->Read(buf, sizeof(buf));
            if (n <= 0) break;
            if (c->Write(buf, static_cast<size_t>(n)) != n) break;
          }
          servers.Done();
        });
      }
    });
    WaitGroup clients;
    clients.Add(conns);
    for (int i = 0; i < conns; i++) {
      Go([&, i] {
        Conn c;
        int err = Conn::Dial("127.0.0.1", port, &c);
        bool ok = err == 0;
        for (int m = 0; ok && m < kMessages; m++) {
          const std::string msg = "client " + std::to_string(i) + " message " + std::to_string(m);
          ok = c.Write(msg.data(), msg.size()) == static_cast<ssize_t>(msg.size());
          std::string back(msg.size(), '\0');
          ok = ok && c.ReadFull(back.data(), back.size()) == static_cast<ssize_t>(back.size());
          ok = ok && back == msg;
        }
        c.Close();
        if (ok) ok_clients.fetch_add(1);
        clients.Done();
      });
    }
    clients.Wait();
    servers.Wait();
    ln.Close();
  });
  EXPECT_EQ(ok_clients.load(), conns);
}

TEST_P(NetTest, PipeReadinessAndEof) {
  RunFibers(procs(), [&] {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    PollFd r;
    ASSERT_EQ(r.Open(fds[0]), 0);
    Chan<std::string> got;
    WaitGroup wg;
    wg.Add(1);
    Go([&] {
      std::string all;
      char buf[64];
      for (;;) {
        ssize_t n = read(r.fd(), buf, sizeof(buf));
        if (n > 0) {
          all.append(buf, static_cast<size_t>(n));
          continue;
        }
        if (n == 0) break;
        ASSERT_EQ(errno, EAGAIN);
        ASSERT_EQ(r.WaitRead(), 0);
      }
      got.Send(all);
      wg.Done();
    });
    for (int i = 0; i < 5; i++) {
      SleepFor(std::chrono::milliseconds(1));
      ASSERT_EQ(write(fds[1], "ab", 2), 2);
    }
    close(fds[1]);
    EXPECT_EQ(got.Recv(), "ababababab");
    wg.Wait();
    r.Close();
    close(fds[0]);
  });
}

TEST_P(NetTest, CloseWakesBlockedReader) {
  RunFibers(procs(), [&] {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    PollFd r;
    ASSERT_EQ(r.Open(fds[0]), 0);
    Chan<int> result;
    Chan<int> started;
    WaitGroup wg;
    wg.Add(1);
    Go([&] {
      started.Send(1);
      result.Send(r.WaitRead());
      wg.Done();
    });
    started.Recv();
    // Close only once the reader is parked on the poller (PollFd's contract).
    while (DumpFibers().find("[IO wait]") == std::string::npos) Yield();
    r.Close();
    EXPECT_EQ(result.Recv(), ECANCELED);
    wg.Wait();
    close(fds[0]);
    close(fds[1]);
  });
}

TEST_P(NetTest, DialRefusedReportsErrno) {
  RunFibers(procs(), [&] {
    // Bind then close a listener to find a port with nobody listening.
    uint16_t port = 0;
    {
      Listener ln;
      ASSERT_EQ(Listener::Listen("127.0.0.1", 0, &ln), 0);
      port = ln.port();
    }
    Conn c;
    EXPECT_EQ(Conn::Dial("127.0.0.1", port, &c), ECONNREFUSED);
    EXPECT_EQ(Conn::Dial("not-an-ip", port, &c), EINVAL);
  });
}

TT_FIBER_INSTANTIATE_PROCS(NetTest);

}  // namespace
}  // namespace tracetool::fiber

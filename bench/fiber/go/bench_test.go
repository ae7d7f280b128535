// Go twins of bench/fiber/fiber_bench.cc: the same work, so the ratios in run.sh compare the
// runtimes and nothing else. Run with -cpu 1,2 (GOMAXPROCS = procs).
package fiberbench

import (
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
)

func smoke() bool { return os.Getenv("TRACETOOL_BENCH_SMOKE") != "" }

func BenchmarkYield(b *testing.B) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.Gosched()
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
}

func BenchmarkSpawnJoin(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { wg.Done() }()
		wg.Wait()
	}
}

func BenchmarkChanRoundTrip(b *testing.B) {
	ping := make(chan int)
	pong := make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ping <- i
		<-pong
	}
	b.StopTimer()
	close(ping)
}

func BenchmarkChanBuffered(b *testing.B) {
	c := make(chan int, 128)
	done := make(chan int64)
	go func() {
		var sum int64
		for v := range c {
			sum += int64(v)
		}
		done <- sum
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c <- i
	}
	close(c)
	<-done
}

func BenchmarkMutexContended(b *testing.B) {
	var mu sync.Mutex
	var counter int64
	var stop int32
	var wg sync.WaitGroup
	stopped := func() bool { mu.Lock(); s := stop; mu.Unlock(); return s != 0 }
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped() {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mu.Lock()
		counter++
		mu.Unlock()
	}
	b.StopTimer()
	mu.Lock()
	stop = 1
	mu.Unlock()
	wg.Wait()
}

func BenchmarkSelect(b *testing.B) {
	ready := make(chan int, 1)
	never := make(chan int)
	for i := 0; i < b.N; i++ {
		select {
		case ready <- 1:
		default:
		}
		select {
		case <-ready:
		case <-never:
		}
	}
}

func skynet(num, size int64) int64 {
	if size == 1 {
		return num
	}
	c := make(chan int64, 10)
	child := size / 10
	for i := int64(0); i < 10; i++ {
		go func(i int64) { c <- skynet(num+i*child, child) }(i)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-c
	}
	return sum
}

func BenchmarkSkynet(b *testing.B) {
	n := int64(1000000)
	if smoke() {
		n = 100000
	}
	for i := 0; i < b.N; i++ {
		if got := skynet(0, n); got != n*(n-1)/2 {
			b.Fatalf("skynet: got %d", got)
		}
	}
}

func BenchmarkTcpEcho(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64)
		for {
			if _, err := readFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Write(msg)
		readFull(c, msg)
	}
}

func readFull(c net.Conn, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

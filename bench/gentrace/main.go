// Command gentrace writes a large Go 1.19 execution trace with a realistic mix of events, for
// bench/compare.sh (tracetool vs `go tool trace`).
//
//	go build -o gentrace ./bench/gentrace && ./gentrace -mb 120 -o big.trace
//
// It runs a mixed workload until the trace written so far reaches -mb megabytes (or -max time
// passes): unbuffered channel ping-pong, contended mutexes, sync.Cond, select over channels and
// timers, short-lived goroutines spawned in bursts, sleeps, file syscalls (write, fsync) and cheap
// ones (getpid), a TCP echo server with clients on 127.0.0.1, allocation that keeps the GC busy,
// and user tasks, regions and logs. A 100 MB trace holds about 20 million events.
// Standard library only.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net"
	"os"
	"runtime"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	out    = flag.String("o", "gentrace.trace", "trace output file")
	mb     = flag.Int64("mb", 120, "stop once the trace has this many megabytes (10^6 bytes)")
	maxDur = flag.Duration("max", 30*time.Minute, "stop after this long regardless of size")
	scale  = flag.Int("scale", 4, "goroutines per workload kind")
)

// countingWriter counts what the runtime's trace reader has written so far.
type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

var stop atomic.Bool

func running() bool { return !stop.Load() }

func pingPong(wg *sync.WaitGroup) {
	defer wg.Done()
	a, b := make(chan int), make(chan int)
	go func() {
		for v := range a {
			b <- v + 1
		}
		close(b)
	}()
	for i := 0; running(); i++ {
		a <- i
		<-b
	}
	close(a)
	for range b {
	}
}

// mutexes: mu guards shared, rw guards rwShared.
func mutexes(wg *sync.WaitGroup, mu *sync.Mutex, shared map[int]int, rw *sync.RWMutex, rwShared map[int]int) {
	defer wg.Done()
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	for i := 0; running(); i++ {
		if i%4 == 0 {
			rw.RLock()
			_ = rwShared[i%128]
			rw.RUnlock()
		}
		mu.Lock()
		shared[r.Intn(1024)] = i
		if i%64 == 0 {
			time.Sleep(20 * time.Microsecond) // hold it a while: contention
		}
		mu.Unlock()
		if i%16 == 0 {
			rw.Lock()
			rwShared[i%128] = i
			rw.Unlock()
		}
		if i%32 == 0 {
			runtime.Gosched()
		}
	}
}

func condQueue(wg *sync.WaitGroup) {
	defer wg.Done()
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	var queue []int
	done := make(chan struct{})
	for c := 0; c < 2; c++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				mu.Lock()
				for len(queue) == 0 && running() {
					cond.Wait()
				}
				if len(queue) == 0 {
					mu.Unlock()
					return
				}
				queue = queue[1:]
				mu.Unlock()
			}
		}()
	}
	for i := 0; running(); i++ {
		mu.Lock()
		queue = append(queue, i)
		if i%8 == 0 {
			cond.Broadcast()
		} else {
			cond.Signal()
		}
		mu.Unlock()
		if i%128 == 0 {
			time.Sleep(50 * time.Microsecond)
		}
	}
	mu.Lock()
	cond.Broadcast()
	mu.Unlock()
	<-done
	<-done
}

func selects(wg *sync.WaitGroup) {
	defer wg.Done()
	c1, c2, c3 := make(chan int), make(chan int, 4), make(chan int)
	quit := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case c1 <- i:
			case c2 <- i:
			case <-quit:
				return
			}
		}
	}()
	go func() {
		for i := 0; ; i++ {
			select {
			case c3 <- i:
			case <-quit:
				return
			}
			if i%16 == 0 {
				time.Sleep(30 * time.Microsecond)
			}
		}
	}()
	timer := time.NewTimer(time.Millisecond)
	for running() {
		select {
		case <-c1:
		case <-c2:
		case <-c3:
		case <-timer.C:
			timer.Reset(time.Millisecond)
		}
	}
	close(quit)
}

func spawner(wg *sync.WaitGroup) {
	defer wg.Done()
	results := make(chan int, 64)
	for running() {
		var inner sync.WaitGroup
		for k := 0; k < 64; k++ {
			inner.Add(1)
			go func(k int) {
				defer inner.Done()
				s := 0
				for j := 0; j < 100*(k%4+1); j++ {
					s += j * k
				}
				select {
				case results <- s:
				default:
				}
			}(k)
		}
		inner.Wait()
		for len(results) > 0 {
			<-results
		}
	}
}

func sleeper(wg *sync.WaitGroup, seed int64) {
	defer wg.Done()
	r := rand.New(rand.NewSource(seed))
	for running() {
		time.Sleep(time.Duration(10+r.Intn(500)) * time.Microsecond)
	}
}

func syscalls(wg *sync.WaitGroup, dir string, id int) {
	defer wg.Done()
	f, err := os.CreateTemp(dir, fmt.Sprintf("gentrace-%d-*", id))
	if err != nil {
		log.Print(err)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	for i := 0; running(); i++ {
		_ = syscall.Getpid()
		if _, err := f.WriteAt(buf, int64(i%256)*4096); err != nil {
			log.Print(err)
			return
		}
		if i%64 == 0 {
			_ = f.Sync()
		}
	}
}

func echoServer(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func(c net.Conn) {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}(c)
	}
}

func netClient(ctx context.Context, wg *sync.WaitGroup, addr string, id int) {
	defer wg.Done()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		log.Print(err)
		return
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for i := 0; running(); i++ {
		var rerr error
		work := func() {
			fmt.Fprintf(c, "client %d message %d\n", id, i)
			_, rerr = r.ReadString('\n')
		}
		if i%256 == 0 {
			tctx, task := trace.NewTask(ctx, "roundtrip")
			trace.WithRegion(tctx, "echo", work)
			trace.Logf(tctx, "client", "id=%d i=%d", id, i)
			task.End()
		} else {
			work()
		}
		if rerr != nil {
			log.Print(rerr)
			return
		}
	}
}

func allocator(wg *sync.WaitGroup) {
	defer wg.Done()
	local := make([][]byte, 0, 256)
	var retained [][]byte // the previous generation stays live while the next one grows
	for i := 0; running(); i++ {
		local = append(local, make([]byte, 1024+i%8192))
		if len(local) == cap(local) {
			retained = local
			local = make([][]byte, 0, 256)
		}
		if i%1024 == 0 {
			runtime.Gosched()
		}
	}
	runtime.KeepAlive(retained)
}

func main() {
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &countingWriter{w: bw}
	if err := trace.Start(cw); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go echoServer(ln)
	dir, err := os.MkdirTemp("", "gentrace")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var rw sync.RWMutex
	shared, rwShared := make(map[int]int), make(map[int]int)
	n := *scale
	for i := 0; i < n; i++ {
		wg.Add(9)
		go pingPong(&wg)
		go mutexes(&wg, &mu, shared, &rw, rwShared)
		go condQueue(&wg)
		go selects(&wg)
		go spawner(&wg)
		go sleeper(&wg, int64(i))
		go syscalls(&wg, dir, i)
		go netClient(ctx, &wg, ln.Addr().String(), i)
		go allocator(&wg)
	}
	for i := 0; i < 4*n; i++ { // more sleepers: many mostly-idle goroutines
		wg.Add(1)
		go sleeper(&wg, int64(100+i))
	}

	start := time.Now()
	limit := *mb * 1000 * 1000
	lastReport := start
	for cw.n.Load() < limit && time.Since(start) < *maxDur {
		time.Sleep(20 * time.Millisecond)
		if time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(os.Stderr, "gentrace: %.0f MB after %.0fs\n",
				float64(cw.n.Load())/1e6, time.Since(start).Seconds())
		}
	}
	stop.Store(true)
	wg.Wait()
	ln.Close()
	trace.Stop()
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "gentrace: wrote %s: %.1f MB in %.1fs\n", *out, float64(cw.n.Load())/1e6,
		time.Since(start).Seconds())
}

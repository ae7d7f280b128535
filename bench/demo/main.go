// Command demo writes testdata/go1.19/demo.trace, the small trace bundled for scripts/demo.sh.
//
// A realistic but short mix of what a Go service does: a TCP echo server on 127.0.0.1 with
// clients, a worker pool fed through channels, a mutex-protected map, a sync.Cond, select with
// timeouts, sleeps, file syscalls, allocation that triggers GC, and user tasks/regions/logs.
// Standard library only. Regenerate with testdata/regen.sh (Go 1.19).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"runtime"
	"runtime/trace"
	"sync"
	"time"
)

var (
	out      = flag.String("o", "demo.trace", "trace output file")
	rounds   = flag.Int("rounds", 100, "rounds of work per client / worker")
	duration = flag.Duration("d", 0, "if set, stop starting new work after this long")
)

// echoServer accepts connections on ln and echoes each line back.
func echoServer(ln net.Listener, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if _, err := io.WriteString(c, line); err != nil {
					return
				}
			}
		}(c)
	}
}

// client sends n lines to addr and reads the echoes.
func client(ctx context.Context, addr string, id, n int) error {
	ctx, task := trace.NewTask(ctx, "client")
	defer task.End()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for i := 0; i < n; i++ {
		trace.WithRegion(ctx, "roundtrip", func() {
			fmt.Fprintf(c, "client %d line %d\n", id, i)
			if _, err = r.ReadString('\n'); err != nil {
				return
			}
		})
		if err != nil {
			return err
		}
		if i%10 == 0 {
			trace.Logf(ctx, "progress", "client %d at %d", id, i)
		}
	}
	return nil
}

type store struct {
	mu sync.Mutex
	m  map[int][]byte
}

func (s *store) put(k int, v []byte) {
	s.mu.Lock()
	s.m[k%64] = v
	s.mu.Unlock()
}

func main() {
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	defer trace.Stop()
	ctx := context.Background()
	start := time.Now()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	var srvWG sync.WaitGroup
	srvWG.Add(1)
	go echoServer(ln, &srvWG)

	// Clients over loopback TCP.
	var wg sync.WaitGroup
	for id := 0; id < 4; id++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			if err := client(ctx, ln.Addr().String(), id, *rounds); err != nil {
				log.Print(err)
			}
		}(id)
	}

	// A worker pool fed through a channel, results through another; a shared map under a mutex.
	jobs := make(chan int)
	results := make(chan int, 8)
	st := &store{m: make(map[int][]byte)}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				buf := make([]byte, 16<<10) // allocation pressure: GC cycles
				for i := range buf {
					buf[i] = byte(j + i)
				}
				st.put(j, buf)
				results <- j
			}
		}()
	}
	go func() {
		defer close(jobs)
		for j := 0; j < *rounds*20; j++ {
			if *duration > 0 && time.Since(start) > *duration {
				return
			}
			jobs <- j
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		got := 0
		timeout := time.NewTimer(50 * time.Millisecond)
		for got < *rounds*20 {
			select {
			case <-results:
				got++
			case <-timeout.C:
				timeout.Reset(50 * time.Millisecond)
			}
		}
	}()

	// A condition variable: waiters woken by a broadcast after a sleep.
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	ready := false
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			for !ready {
				cond.Wait()
			}
			mu.Unlock()
		}()
	}
	time.Sleep(5 * time.Millisecond)
	mu.Lock()
	ready = true
	cond.Broadcast()
	mu.Unlock()

	// Sleepers and file syscalls.
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for k := 0; k < 5; k++ {
				time.Sleep(time.Duration(i+1) * time.Millisecond)
				tmp, err := os.CreateTemp("", "tracetool-demo-*")
				if err == nil {
					_, _ = tmp.Write(make([]byte, 4096))
					_ = tmp.Sync()
					tmp.Close()
					os.Remove(tmp.Name())
				}
			}
		}(i)
	}

	wg.Wait()
	runtime.GC()
	ln.Close()
	srvWG.Wait()
}

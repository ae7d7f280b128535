// chansync writes an execution trace (runtime/trace) to os.Args[1] while exercising the
// synchronisation kinds of the sync and sched profiles: blocking unbuffered send and receive,
// buffered channels, close, select (blocking, with default, with timeout), sync.Mutex and
// RWMutex contention, sync.Cond, WaitGroup, time.Sleep, runtime.Gosched and GOMAXPROCS changes.
// Goroutines that are already blocked when tracing starts show up as GoWaiting.
//
// Oracle input for tracetool (tests/oracle): runtime well under a second, trace well under 2 MB.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
	"sync"
	"time"
)

//go:noinline
func unbufferedPingPong(rounds int) {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			time.Sleep(50 * time.Microsecond) // make the sender block in send
			pong <- v + 1
		}
		close(pong)
	}()
	for i := 0; i < rounds; i++ {
		ping <- i
		<-pong
	}
	close(ping)
	for range pong {
	}
}

//go:noinline
func bufferedPipeline(n int) {
	src := make(chan int, 4)
	dst := make(chan int, 2)
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range src {
				dst <- v * v
			}
		}()
	}
	go func() {
		for i := 0; i < n; i++ {
			src <- i
		}
		close(src)
	}()
	go func() {
		wg.Wait() // blocks in GoBlockSync (WaitGroup)
		close(dst)
	}()
	sum := 0
	for v := range dst {
		sum += v
		if v%7 == 0 {
			time.Sleep(20 * time.Microsecond)
		}
	}
	_ = sum
}

//go:noinline
func selects() {
	a, b, quit := make(chan int), make(chan string), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select { // blocking select over three channels
			case v := <-a:
				_ = v
			case s := <-b:
				_ = s
			case <-quit:
				return
			}
		}
	}()
	for i := 0; i < 20; i++ {
		if i%2 == 0 {
			a <- i
		} else {
			b <- "x"
		}
		time.Sleep(10 * time.Microsecond)
	}
	// select with default never blocks; select with a timeout blocks until the timer fires.
	select {
	case a <- 1:
	default:
	}
	select {
	case <-make(chan int):
	case <-time.After(200 * time.Microsecond):
	}
	close(quit)
	<-done
}

//go:noinline
func mutexes() {
	var mu sync.Mutex
	var rw sync.RWMutex
	var wg sync.WaitGroup
	shared := 0
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				mu.Lock()
				shared++
				if i%5 == 0 {
					time.Sleep(30 * time.Microsecond) // hold the lock so others block in GoBlockSync
				}
				mu.Unlock()
				if id%2 == 0 {
					rw.RLock()
					_ = shared
					time.Sleep(5 * time.Microsecond)
					rw.RUnlock()
				} else {
					rw.Lock()
					shared--
					rw.Unlock()
				}
				if i%10 == 0 {
					runtime.Gosched()
				}
			}
		}(g)
	}
	wg.Wait()
}

//go:noinline
func conds() {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	ready := 0
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			for ready == 0 {
				cond.Wait() // GoBlockCond
			}
			ready++
			mu.Unlock()
		}()
	}
	time.Sleep(300 * time.Microsecond)
	mu.Lock()
	ready = 1
	cond.Signal()
	mu.Unlock()
	time.Sleep(100 * time.Microsecond)
	mu.Lock()
	cond.Broadcast()
	mu.Unlock()
	wg.Wait()
}

//go:noinline
func spinners(d time.Duration) {
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			end := time.Now().Add(d)
			x := 0
			for time.Now().Before(end) {
				for i := 0; i < 1000; i++ {
					x += i
				}
				runtime.Gosched()
			}
			_ = x
		}()
	}
	wg.Wait()
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: chansync TRACE_OUT")
		os.Exit(2)
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	runtime.GOMAXPROCS(2)

	// Goroutines blocked before tracing starts: they appear as GoWaiting at trace start and are
	// unblocked during the trace.
	early := make(chan int)
	var earlyWG sync.WaitGroup
	for i := 0; i < 2; i++ {
		earlyWG.Add(1)
		go func() { defer earlyWG.Done(); <-early }()
	}
	time.Sleep(time.Millisecond)

	if err := trace.Start(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	early <- 1
	early <- 2
	earlyWG.Wait()

	unbufferedPingPong(30)
	bufferedPipeline(200)
	selects()
	mutexes()
	conds()

	runtime.GOMAXPROCS(4) // stop-the-world + Gomaxprocs event
	spinners(2 * time.Millisecond)
	mutexes()
	runtime.GOMAXPROCS(1)
	spinners(time.Millisecond)
	unbufferedPingPong(10)
	runtime.GOMAXPROCS(2)
	time.Sleep(200 * time.Microsecond)

	trace.Stop()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

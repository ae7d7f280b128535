// Command schedtrace is the reference for lib/fiber's GODEBUG=schedtrace/scheddetail output:
// a small Go 1.19 program with goroutines blocked on a channel, a mutex and sleep while two
// spin. capture.sh runs it with GODEBUG=schedtrace=100,scheddetail=1 (and without scheddetail)
// and keeps the lines in go119_*.txt; tests/fiberobs compares our lines with them field by field.
package main

import (
	"runtime"
	"sync"
	"time"
)

func main() {
	runtime.GOMAXPROCS(2)
	var mu sync.Mutex
	ch := make(chan int)
	mu.Lock()
	for i := 0; i < 3; i++ {
		go func() { <-ch }()
	}
	go func() { mu.Lock(); mu.Unlock() }()
	go func() { time.Sleep(time.Hour) }()
	stop := time.Now().Add(350 * time.Millisecond)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 1
			for time.Now().Before(stop) {
				x = x*31 + 7
			}
			_ = x
		}()
	}
	wg.Wait()
	mu.Unlock()
}

// gcalloc writes an execution trace (runtime/trace) to os.Args[1] under allocation pressure:
// several goroutines allocate and drop linked structures with a low GC percent, so the trace holds
// many GC cycles (GCStart/GCDone, STW, sweep, mark assists, GoBlockGC, HeapAlloc/HeapGoal),
// explicit runtime.GC() calls, runtime.Gosched and a GOMAXPROCS change in the middle. A CPU
// profile runs during the trace, so the trace also holds CPUSample events (Go 1.19+).
//
// Oracle input for tracetool (tests/oracle): runtime well under a second, trace well under 2 MB.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"sync"
)

type node struct {
	next *node
	pad  [48]byte
}

var sink []*node // keeps part of the heap live

//go:noinline
func churn(rounds, perRound int, keep bool) int {
	total := 0
	for r := 0; r < rounds; r++ {
		var head *node
		for i := 0; i < perRound; i++ {
			head = &node{next: head}
			total++
		}
		if keep && r%8 == 0 {
			sink = append(sink, head)
			if len(sink) > 16 {
				sink = sink[1:]
			}
		}
		if r%16 == 0 {
			runtime.Gosched()
		}
	}
	return total
}

//go:noinline
func bigSlices(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		b := make([]byte, 256<<10)
		b[len(b)-1] = byte(i)
		s += int(b[len(b)-1])
	}
	return s
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gcalloc TRACE_OUT")
		os.Exit(2)
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	debug.SetGCPercent(20)
	runtime.GOMAXPROCS(2)
	if err := trace.Start(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	runtime.GC() // explicit GC with an almost empty heap
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			churn(60, 2000, id%2 == 0)
			bigSlices(20)
		}(g)
	}
	wg.Wait()
	runtime.GC()

	runtime.GOMAXPROCS(3)
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			churn(40, 2000, true)
		}()
	}
	wg.Wait()
	runtime.GOMAXPROCS(2)
	sink = nil
	runtime.GC()

	pprof.StopCPUProfile()
	trace.Stop()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

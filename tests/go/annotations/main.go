// annotations writes an execution trace (runtime/trace) to os.Args[1] with user annotations used
// across goroutines: nested tasks (trace.NewTask), a task created in one goroutine and ended in
// another, regions (trace.WithRegion and StartRegion/End, nested, in several goroutines of one
// task), logs (trace.Log, trace.Logf) with and without a task, a region and a task still open when
// tracing stops, and channel hand-offs between the annotated goroutines so that the sync and sched
// profiles have stacks inside regions.
//
// Oracle input for tracetool (tests/oracle): runtime well under a second, trace well under 2 MB.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/trace"
	"sync"
	"time"
)

//go:noinline
func stage(ctx context.Context, name string, in <-chan int, out chan<- int, wg *sync.WaitGroup) {
	defer wg.Done()
	trace.WithRegion(ctx, name, func() {
		for v := range in {
			r := trace.StartRegion(ctx, name+"/item")
			trace.Logf(ctx, "item", "%s got %d", name, v)
			time.Sleep(20 * time.Microsecond)
			r.End()
			out <- v + 1
		}
	})
	close(out)
}

//go:noinline
func pipelineTask(parent context.Context, id int) {
	ctx, task := trace.NewTask(parent, fmt.Sprintf("pipeline-%d", id))
	defer task.End()
	trace.Log(ctx, "config", "three stages")
	a, b, c, d := make(chan int), make(chan int), make(chan int), make(chan int)
	var wg sync.WaitGroup
	wg.Add(3)
	go stage(ctx, "parse", a, b, &wg)
	go stage(ctx, "check", b, c, &wg)
	go stage(ctx, "emit", c, d, &wg)
	go func() {
		for i := 0; i < 8; i++ {
			a <- i
		}
		close(a)
	}()
	trace.WithRegion(ctx, "collect", func() {
		for range d {
		}
	})
	wg.Wait()
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: annotations TRACE_OUT")
		os.Exit(2)
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := trace.Start(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	bg := context.Background()
	trace.Log(bg, "phase", "start") // a log outside any task

	root, rootTask := trace.NewTask(bg, "root")
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			pipelineTask(root, i)
		}(i)
	}
	wg.Wait()

	// A task created here and ended by another goroutine.
	handoffCtx, handoff := trace.NewTask(root, "handoff")
	ended := make(chan struct{})
	go func() {
		trace.WithRegion(handoffCtx, "finisher", func() {
			time.Sleep(100 * time.Microsecond)
			trace.Log(handoffCtx, "handoff", "ending the task from another goroutine")
		})
		handoff.End()
		close(ended)
	}()
	<-ended
	rootTask.End()

	// Still open when the trace stops: a task and a region whose end is never traced.
	open, _ := trace.NewTask(bg, "unfinished")
	_ = trace.StartRegion(open, "dangling")
	trace.Log(open, "phase", "stop")
	trace.Stop()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

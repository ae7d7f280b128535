// syscalls writes an execution trace (runtime/trace) to os.Args[1] while making blocking system
// calls (the syscall profile): reads from a blocking pipe (syscall.Pipe + syscall.Read) that wait
// for a writer, syscall.Nanosleep, and file I/O with fsync in the trace's directory. It also reads
// an os.Pipe, which Go puts in non-blocking mode, so those reads block in the netpoller instead
// (GoBlockNet). One goroutine is already inside a blocking read when tracing starts (GoInSyscall).
//
// Oracle input for tracetool (tests/oracle): runtime well under a second, trace well under 2 MB.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/trace"
	"sync"
	"syscall"
	"time"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "syscalls:", err)
		os.Exit(1)
	}
}

// blockingReader reads n writes of 4 bytes each (the kernel may coalesce them into fewer reads).
//
//go:noinline
func blockingReader(fd int, n int, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 64)
	for want := 4 * n; want > 0; {
		m, err := syscall.Read(fd, buf) // blocks in the kernel
		if err == syscall.EINTR {
			continue
		}
		must(err)
		if m == 0 {
			must(fmt.Errorf("unexpected EOF"))
		}
		want -= m
	}
}

//go:noinline
func slowWriter(fd int, n int, pause time.Duration) {
	for i := 0; i < n; i++ {
		time.Sleep(pause)
		for {
			_, err := syscall.Write(fd, []byte("tick"))
			if err != syscall.EINTR {
				must(err)
				break
			}
		}
	}
}

//go:noinline
func nanosleeps(n int) {
	for i := 0; i < n; i++ {
		ts := syscall.NsecToTimespec(int64(2 * time.Millisecond))
		syscall.Nanosleep(&ts, nil)
	}
}

//go:noinline
func fileIO(dir string) {
	name := filepath.Join(dir, "syscalls-scratch.bin")
	defer os.Remove(name)
	f, err := os.Create(name)
	must(err)
	block := make([]byte, 64<<10)
	for i := 0; i < 8; i++ {
		_, err := f.Write(block)
		must(err)
		must(f.Sync())
	}
	must(f.Close())
	data, err := os.ReadFile(name)
	must(err)
	if len(data) != 8*len(block) {
		must(fmt.Errorf("short read: %d", len(data)))
	}
}

//go:noinline
func osPipe() {
	r, w, err := os.Pipe()
	must(err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 16)
		for {
			if _, err := r.Read(buf); err != nil { // netpoller wait, not a blocking syscall
				return
			}
		}
	}()
	for i := 0; i < 5; i++ {
		time.Sleep(300 * time.Microsecond)
		_, err := w.Write([]byte("data"))
		must(err)
	}
	w.Close()
	<-done
	r.Close()
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: syscalls TRACE_OUT")
		os.Exit(2)
	}
	f, err := os.Create(os.Args[1])
	must(err)

	var p [2]int
	must(syscall.Pipe(p[:])) // blocking file descriptors
	var wg sync.WaitGroup
	wg.Add(1)
	go blockingReader(p[0], 6, &wg)
	time.Sleep(time.Millisecond) // the reader is inside read(2) when tracing starts

	must(trace.Start(f))
	slowWriter(p[1], 6, time.Millisecond)
	wg.Wait()

	var q [2]int
	must(syscall.Pipe(q[:]))
	wg.Add(2)
	go blockingReader(q[0], 5, &wg)
	go func() {
		defer wg.Done()
		nanosleeps(4)
	}()
	slowWriter(q[1], 5, 1500*time.Microsecond)
	wg.Wait()

	fileIO(filepath.Dir(os.Args[1]))
	osPipe()
	trace.Stop()
	must(f.Close())
	for _, fd := range []int{p[0], p[1], q[0], q[1]} {
		syscall.Close(fd)
	}
}

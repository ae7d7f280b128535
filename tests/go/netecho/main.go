// netecho writes an execution trace (runtime/trace) to os.Args[1] while running a TCP echo server
// and several clients on 127.0.0.1: accept, read and write block in the netpoller (GoBlockNet, the
// net profile) and are woken by the poller (GoUnblock on the netpoll pseudo-P). Clients pause
// between messages so that the server's reads really block. Nothing leaves the loopback interface.
//
// Oracle input for tracetool (tests/oracle): runtime well under a second, trace well under 2 MB.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/trace"
	"sync"
	"time"
)

//go:noinline
func serve(ln net.Listener, wg *sync.WaitGroup) {
	defer wg.Done()
	var conns sync.WaitGroup
	for {
		c, err := ln.Accept() // blocks in the netpoller
		if err != nil {
			break
		}
		conns.Add(1)
		go func(c net.Conn) {
			defer conns.Done()
			defer c.Close()
			io.Copy(c, c) // echo: read blocks until the client sends
		}(c)
	}
	conns.Wait()
}

//go:noinline
func client(addr string, id, msgs int, pause time.Duration) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for i := 0; i < msgs; i++ {
		line := fmt.Sprintf("client %d message %d\n", id, i)
		if _, err := io.WriteString(c, line); err != nil {
			return err
		}
		got, err := r.ReadString('\n') // blocks until the echo arrives
		if err != nil {
			return err
		}
		if got != line {
			return fmt.Errorf("echo mismatch: %q != %q", got, line)
		}
		time.Sleep(pause)
	}
	return nil
}

//go:noinline
func bulk(addr string, size int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(buf) // large write: may block on a full socket buffer
		errc <- err
	}()
	got := make([]byte, size)
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	return <-errc
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: netecho TRACE_OUT")
		os.Exit(2)
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var srv sync.WaitGroup
	srv.Add(1)
	go serve(ln, &srv)
	time.Sleep(time.Millisecond) // the server is blocked in Accept when tracing starts

	if err := trace.Start(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	addr := ln.Addr().String()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for id := 0; id < 4; id++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			if err := client(addr, id, 15, time.Duration(50+id*40)*time.Microsecond); err != nil {
				errs <- err
			}
		}(id)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := bulk(addr, 4<<20); err != nil {
			errs <- err
		}
	}()
	wg.Wait()
	ln.Close()
	srv.Wait()
	trace.Stop()
	close(errs)
	for err := range errs {
		fmt.Fprintln(os.Stderr, "netecho:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

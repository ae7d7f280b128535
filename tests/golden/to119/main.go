// to119 rewrites a Go 1.21 execution trace (v1 format, "go 1.21 trace") into one that Go 1.19's
// reader accepts, so that Go 1.19's `go tool trace` can serve as an independent cross-check of
// the go1.21 golden files (tests/golden/crosscheck.sh):
//
//	to119 IN OUT
//
// Only two things differ for a 1.19 reader (spec §1.10): the header, and the STW kind numbering
// (1.21: 1 = GC mark termination, 2 = GC sweep termination; 1.19: 0 and 1). Both rewrites keep
// every byte offset unchanged, so `-d` lines keep their off= values. A trace with any other STW
// kind (GOMAXPROCS, read mem stats, ...) cannot be expressed for Go 1.19: that is an error (exit 1).
// The other 1.21 writer differences (frequency inside a batch, padded varints, early HeapGoal)
// are tolerated by the 1.19 reader as they are.
package main

import (
	"bytes"
	"fmt"
	"os"
)

const (
	evSTWStart = 9
	evString   = 37
	evUserLog  = 48
)

func uvarint(data []byte, off int) (uint64, int, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		if off >= len(data) {
			return 0, 0, fmt.Errorf("truncated varint at offset %d", off)
		}
		b := data[off]
		off++
		v |= uint64(b&0x7f) << (7 * uint(i))
		if b < 0x80 {
			return v, off, nil
		}
	}
	return 0, 0, fmt.Errorf("bad varint at offset %d", off)
}

func convert(data []byte) (int, error) {
	if !bytes.Equal(data[:16], []byte("go 1.21 trace\x00\x00\x00")) {
		return 0, fmt.Errorf("not a go 1.21 trace (header %q)", data[:16])
	}
	copy(data, []byte("go 1.19 trace\x00\x00\x00"))
	stw := 0
	for off := 16; off < len(data); {
		off0 := off
		typ := data[off] & 0x3f
		narg := int(data[off]>>6) + 1
		off++
		if typ == evString {
			var err error
			if _, off, err = uvarint(data, off); err != nil {
				return 0, err
			}
			var n uint64
			if n, off, err = uvarint(data, off); err != nil {
				return 0, err
			}
			off += int(n)
			continue
		}
		type arg struct {
			v   uint64
			off int
		}
		var args []arg
		if narg < 4 {
			for i := 0; i < narg; i++ {
				v, next, err := uvarint(data, off)
				if err != nil {
					return 0, err
				}
				args = append(args, arg{v, off})
				off = next
			}
		} else {
			n, next, err := uvarint(data, off)
			if err != nil {
				return 0, err
			}
			off = next
			end := off + int(n)
			for off < end {
				v, next, err := uvarint(data, off)
				if err != nil {
					return 0, err
				}
				args = append(args, arg{v, off})
				off = next
			}
		}
		if typ == evUserLog {
			off += int(args[len(args)-1].v)
		}
		if typ == evSTWStart {
			if len(args) != 2 {
				return 0, fmt.Errorf("STWStart at offset %d has %d args, want 2", off0, len(args))
			}
			k := args[1]
			if (k.v != 1 && k.v != 2) || data[k.off] != byte(k.v) {
				return 0, fmt.Errorf("STWStart at offset %d has kind %d, which Go 1.19 cannot represent", off0, k.v)
			}
			data[k.off]--
			stw++
		}
	}
	return stw, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: to119 IN OUT")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if len(data) < 16 {
		fmt.Fprintln(os.Stderr, "to119: file too short")
		os.Exit(1)
	}
	n, err := convert(data)
	if err != nil {
		fmt.Fprintf(os.Stderr, "to119: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[2], data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "to119: %s: %d STW kinds renumbered\n", os.Args[1], n)
}

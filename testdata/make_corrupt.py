#!/usr/bin/env python3
"""Writes the hand-made bad inputs of testdata/corrupt/ (issue 2 item 7).

Each must make tracetool fail with one clear line and exit code 1 (or, for the few that are
merely odd, succeed) and must never crash: tests/fuzz's corrupt_regression replays every file of
testdata/corrupt/, and the fuzzer uses them as seeds. Inputs found by the fuzzer are added to the
same folder by hand under descriptive names (fuzz_*); this script never touches those.

    python3 testdata/make_corrupt.py      # needs zstd on PATH; reads testdata/go1.19/demo.trace
"""
import gzip
import os
import subprocess

here = os.path.dirname(os.path.abspath(__file__))
demo = open(os.path.join(here, 'go1.19', 'demo.trace'), 'rb').read()
H = b'go 1.19 trace\x00\x00\x00'  # 16-byte header of a Go 1.19 trace
BATCH_P0 = bytes([0x41, 0x00, 0x01])  # EvBatch (type 1, 2 args): p=0, ticks=1

files = {
    'empty.trace': b'',
    'bad_magic.trace': b'this is not a Go execution trace\n',
    'truncated_header.trace': b'go 1.1',
    'header_only_1_19.trace': H,
    'unsupported_go1_4.trace': b'go 1.4 trace\x00\x00\x00\x00',
    'unsupported_go1_22.trace': b'go 1.22 trace\x00\x00\x00' + bytes([0x01, 0x00, 0x00]),
    'header_no_nul.trace': b'go 1.19 traceXXX' + demo[16:200],
    # an 11-byte varint (more than 64 bits)
    'bad_varint_overlong.trace': H + bytes([0x41]) + b'\xff' * 11 + b'\x00',
    # a batch for P 2^63-1
    'batch_huge_p.trace': H + bytes([0x41]) + b'\xff\xff\xff\xff\xff\xff\xff\xff\x7f' + b'\x01',
    # EvString (37) claiming a 4 GiB string
    'string_huge_length.trace': H + BATCH_P0 + bytes([37]) + b'\x01' + b'\xff\xff\xff\xff\x0f' + b'abc',
    # EvStack (20, length-prefixed) with 2^28 frames
    'stack_huge_nframes.trace': H + BATCH_P0 + bytes([0xc0 | 20]) + b'\x10' + b'\x01' + b'\xff\xff\xff\x7f' + b'\x00' * 8,
    'unknown_event_type.trace': H + BATCH_P0 + bytes([0x3f, 0x00]),
    # EvGoCreate before any batch header
    'event_before_batch.trace': H + bytes([0x4e, 0x01, 0x02]),
    'truncated_demo_5000.trace': demo[:5000],
    'truncated_demo_minus7.trace': demo[:-7],
    'demo_first_half.trace': demo[:len(demo) // 2],
    'zeros_64k.trace': b'\x00' * 65536,
    'header_then_zeros.trace': H + b'\x00' * 4096,
    'gzip_garbage.trace.gz': b'\x1f\x8b\x08\x00' + b'\x00' * 6 + b'garbage-not-deflate',
    'gzip_truncated.trace.gz': gzip.compress(demo, mtime=0)[:3000],
    'zstd_bad_frame.trace.zst': b'\x28\xb5\x2f\xfd' + b'\xff' * 32,
}
zst = subprocess.run(['zstd', '-q', '-c'], input=demo, capture_output=True, check=True).stdout
files['zstd_truncated.trace.zst'] = zst[:2000]
flipped = bytearray(demo)  # deterministic byte flips spread over the demo trace
for i in range(200, len(flipped), 997):
    flipped[i] ^= 0x5a
files['demo_bitflips.trace'] = bytes(flipped)

out = os.path.join(here, 'corrupt')
os.makedirs(out, exist_ok=True)
for name, data in sorted(files.items()):
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
print(f'make_corrupt.py: wrote {len(files)} files to {out}')

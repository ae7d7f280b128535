#!/usr/bin/env bash
# v2_seeds.sh V2ASM SHARED_DIR OUTDIR: the Go 1.22+ inputs for the fuzz target, in binary form,
# built from the shared reference data (never copied into the repository): the upstream fuzz
# seeds (decoded from Go's corpus format), the upstream text tests (assembled) and the real traces.
# Fails loudly when the shared data is absent.
set -euo pipefail
asm=$1 shared=$2 out=$3
for d in go1.22plus go1.22plus-fuzz go1.22plus-text; do
  [[ -d $shared/testdata/$d ]] || { echo "v2_seeds: $shared/testdata/$d is missing (TRACETOOL_SHARED_DIR)" >&2; exit 1; }
done
rm -rf "$out" && mkdir -p "$out"
for f in "$shared"/testdata/go1.22plus-fuzz/*; do "$asm" --go-fuzz "$f" > "$out/fuzz-$(basename "$f")"; done
for f in "$shared"/testdata/go1.22plus-text/*.test; do "$asm" "$f" > "$out/text-$(basename "$f" .test)"; done
cp "$shared"/testdata/go1.22plus/*.trace "$out"/
echo "v2_seeds: $(ls "$out" | wc -l) inputs in $out"

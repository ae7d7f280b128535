#!/usr/bin/env bash
# inventory.sh DIR: fails unless DIR (Go 1.19's src/internal/trace/testdata) holds the 21 canned
# traces the oracle suite compares; a missing golang-1.19-src must not pass silently.
set -uo pipefail
dir=$1
if [[ ! -d $dir ]]; then
  echo "oracle: FAIL: $dir does not exist: install golang-1.19-src" >&2
  exit 1
fi
n=$(find "$dir" -maxdepth 1 -type f | wc -l)
echo "oracle: $n canned traces in $dir"
[[ $n -eq 21 ]] || { echo "oracle: FAIL: expected 21 canned traces" >&2; exit 1; }

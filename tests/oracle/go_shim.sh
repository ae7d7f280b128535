#!/usr/bin/env bash
# go_shim.sh: a stand-in for the tracetool binary built on Go 1.19's own `go tool trace`, with
# tracetool's command-line contract (`-d FILE`, `-pprof=MODE FILE`, exit 1 + one stderr line for a
# bad trace). It exists only to test the oracle harness itself (Go compared with Go, where -d
# must match up to tie order and profiles must match exactly):
#
#   cmake -DTRACETOOL_ORACLE_TOOL=$PWD/tests/oracle/go_shim.sh ...
#
# GOROOT defaults to /usr/lib/go-1.19. Go 1.5 traces get /bin/true as the binary argument.
set -uo pipefail
goroot=${TRACETOOL_SHIM_GOROOT:-/usr/lib/go-1.19}
gotrace=$goroot/pkg/tool/linux_amd64/trace
args=() file=""
for a in "$@"; do
  case $a in
    -d|--d) args+=(-d) ;;
    -pprof=*|--pprof=*) args+=("-pprof=${a#*=}") ;;
    -*) [[ $a == - ]] && file=- || { echo "tracetool(go shim): unknown flag $a" >&2; exit 2; } ;;
    *) file=$a ;;
  esac
done
if [[ -z $file ]]; then echo "tracetool(go shim): no trace file" >&2; exit 2; fi
if [[ $file == - ]]; then
  tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT; cat > "$tmp"; file=$tmp
fi
[[ -r $file ]] || { echo "tracetool(go shim): $file: cannot read" >&2; exit 2; }
if [[ $(head -c 16 "$file" | tr -d '\0') == "go 1.5 trace" ]]; then
  args+=(/bin/true)
fi
err=$(mktemp); trap 'rm -f "$err" ${tmp:-}' EXIT
HOME=${TMPDIR:-/tmp} "$gotrace" "${args[@]}" "$file" 2> "$err"
rc=$?
if [[ $rc -ne 0 ]]; then
  echo "tracetool(go shim): $file: $(grep -v 'Parsing trace' "$err" | tail -1)" >&2
  exit 1
fi
exit 0

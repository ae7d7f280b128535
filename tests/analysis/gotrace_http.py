"""Shared helpers for the analysis oracles: run Go 1.19's `go tool trace -http` on loopback and
render numbers the way its pages do."""
import os
import re
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request


def go_int_div(a, b):
    """Go's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def nice(ns):
    """cmd/trace's niceDuration."""
    for limit, unit, div in ((10_000, "ns", 1), (10_000_000, "µs", 1000),
                             (10_000_000_000, "ms", 1_000_000)):
        if ns < limit:
            return f"{go_int_div(ns, div)}{unit}"
    return f"{go_int_div(ns, 1_000_000_000)}s "


def percent(a, b):
    return "" if b == 0 else "(%.1f%%)" % (a / b * 100)


def barlen(a, b):
    return "0" if b == 0 else "%.2f%%" % (a / b * 100)


class GoTraceServer:
    """`go tool trace -http=127.0.0.1:0 TRACE`, started in __enter__, killed in __exit__."""

    def __init__(self, goroot, trace, startup_timeout=300):
        self.goroot, self.trace, self.startup_timeout = goroot, trace, startup_timeout

    def __enter__(self):
        env = dict(os.environ, BROWSER="/bin/true", GOROOT=self.goroot, HOME=tempfile.gettempdir())
        tooldir = subprocess.run([f"{self.goroot}/bin/go", "env", "GOTOOLDIR"], capture_output=True,
                                 text=True, env=env, check=True).stdout.strip()
        self.proc = subprocess.Popen([tooldir + "/trace", "-http=127.0.0.1:0", self.trace],
                                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env,
                                     text=True)
        deadline = time.time() + self.startup_timeout
        self.port = None
        while self.port is None and time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("go tool trace exited before serving")
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = m.group(1)
        if self.port is None:
            raise RuntimeError("go tool trace did not start serving")
        return self

    def get(self, path, attempts=50, timeout=120, binary=False, **query):
        if query:
            path += "?" + urllib.parse.urlencode(query)
        for _ in range(attempts):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as r:
                    body = r.read()
                    return body if binary else body.decode("utf-8")
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"cannot fetch {path} from go tool trace")

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()

#!/usr/bin/env bash
# The HTML report in a real browser: headless Chromium loads the page for a single run (with phase
# traces) and the comparison page, the page's script must have drawn every chart with non-zero
# sizes (it writes body[data-rendered]) and no script error may appear (body[data-errors], the
# console on stderr). A page with a deliberate script error proves the error check can fail.
# A screenshot of each page goes next to the test log (build/meson-logs/).
set -u
browser="$(command -v chromium || true)"
[ -n "$browser" ] || { echo "SKIP: chromium not installed (apt-get install chromium)"; exit 77; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
logs="${MESON_BUILD_ROOT:-$PWD}/meson-logs"; mkdir -p "$logs"
fails=0
bad() { echo "FAIL $*"; fails=$((fails+1)); }

chrome() {  # chrome PAGE ARGS... ; stdout: dom, stderr to $tmp/console.log
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d -p "$tmp")" --enable-logging=stderr --v=0 --window-size=1200,2000 \
    "${@:2}" "file://$1" 2>"$tmp/console.log"
}

check_page() {  # check_page NAME PAGE MIN_CHARTS WANT_SEGMENTS
  local name="$1" page="$2"
  chrome "$page" --dump-dom >"$tmp/$name.dom" || { bad "$name: chromium exited $?"; cat "$tmp/console.log"; return; }
  if grep -E 'CONSOLE|Uncaught' "$tmp/console.log"; then bad "$name: console messages"; fi
  /usr/bin/python3 - "$tmp/$name.dom" "$3" "$4" <<'PY' || bad "$name: rendering"
import json, sys
from html.parser import HTMLParser
attrs = {}
class P(HTMLParser):
    def handle_starttag(self, tag, a):
        if tag == "body": attrs.update(dict(a))
P().feed(open(sys.argv[1]).read())
assert "data-errors" not in attrs, "script errors: " + attrs["data-errors"]
assert "data-rendered" in attrs, "the page's script did not finish drawing"
r = json.loads(attrs["data-rendered"])
min_charts, want_segments = int(sys.argv[2]), sys.argv[3] == "yes"
assert r["charts"] >= min_charts and len(r["sizes"]) == r["charts"], r
for s in r["sizes"]:
    assert s["width"] > 0 and s["height"] > 0 and s["marks"] > 0 and s["drawn"] == s["marks"], s
assert r["bars"] > 0 and r["whiskers"] == r["bars"], r
assert (r["segments"] > 0) == want_segments, r
print(f"rendered: {r['charts']} charts, {r['bars']} bars with whiskers, {r['segments']} phase segments;",
      ", ".join(f"{s['id']} {s['width']}x{s['height']}" for s in r["sizes"]))
PY
  chrome "$page" --screenshot="$logs/html-report-$name.png" >/dev/null || bad "$name: screenshot failed"
  [ -s "$logs/html-report-$name.png" ] && echo "screenshot: $logs/html-report-$name.png"
}

"$CTBENCH" report "$FIXTURES/base.json" --format html --output "$tmp/run.html" || exit 1
"$CTBENCH" report "$FIXTURES/base.json" "$FIXTURES/slower.json" --format html --output "$tmp/compare.html" || exit 1
# Self-contained: nothing that would make the browser fetch.
if grep -Eo '(src|href)="[^"#][^"]*"|url\(|@import' "$tmp/run.html" "$tmp/compare.html"; then bad "external reference"; fi
check_page run "$tmp/run.html" 3 yes
check_page compare "$tmp/compare.html" 5 yes

# Negative control: a thrown error must be caught by this test.
sed 's|<script>|<script>window.setTimeout(function(){ throw new Error("ctbench-control"); }, 0);|' "$tmp/run.html" >"$tmp/broken.html"
chrome "$tmp/broken.html" --dump-dom >"$tmp/broken.dom"
grep -q 'data-errors' "$tmp/broken.dom" || bad "control: the thrown error was not recorded in the DOM"
grep -q 'ctbench-control' "$tmp/console.log" || bad "control: the thrown error did not reach the console log"
[ "$fails" = 0 ]

#!/usr/bin/env bash
# test_cli.sh - `vigil intel` on the demo feeds: exact --json output, the
# text form, exit codes 0 (no match), 1 (a match) and 2 (usage, a bad
# ADDR, a feed that does not load: named with its line and reason), stats,
# and a URL feed served by http_server.py.
#
# Usage: test_cli.sh VIGIL SOURCE_DIR WORK_DIR
set -uo pipefail
vigil=${1:?usage: test_cli.sh VIGIL SOURCE_DIR WORK_DIR}
src=${2:?}
work=${3:?}
rm -rf "$work"
mkdir -p "$work/site"
c2="$src/data/feeds/c2-blocklist.txt"
scanners="$src/data/feeds/scanners.csv"
data="$src/tests/intel_feeds/data"
failed=0 passed=0
server_pid=
cleanup() { if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi; }
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }

# run NAME CODE ARGS...: runs vigil, checks the exit code; output in $work/out, $work/err.
run() {
  local name=$1 code=$2 rc=0
  shift 2
  "$vigil" "$@" >"$work/out" 2>"$work/err" || rc=$?
  if [ "$rc" -eq "$code" ]; then ok "$name: exit $code"; else fail "$name: exit $rc (want $code), stderr: $(head -c 300 "$work/err")"; fi
}
expect_out() {   # NAME EXPECTED-STDOUT
  if [ "$(cat "$work/out")" == "$2" ]; then ok "$1: output"; else
    fail "$1: output differs:"; diff <(printf '%s\n' "$2") "$work/out" | head -20; fi
}
expect_err() {   # NAME PATTERN
  if grep -Eq -e "$2" "$work/err"; then ok "$1: stderr"; else fail "$1: stderr '$(head -c 300 "$work/err")' lacks '$2'"; fi
}

run "json, every kind of match" 1 intel check --feed "$c2" --feed "$scanners" --json \
  203.0.113.66 198.18.7.200 2001:db8:bad::1 ::ffff:203.0.113.66 192.0.2.1 203.0.113.99 203.0.113.140
expect_out "json, every kind of match" \
'{"addr":"203.0.113.66","match":true,"indicators":[{"value":"203.0.113.66","feed":"c2-blocklist","category":"blocklist","confidence":100}]}
{"addr":"198.18.7.200","match":true,"indicators":[{"value":"198.18.7.0/24","feed":"c2-blocklist","category":"blocklist","confidence":100}]}
{"addr":"2001:db8:bad::1","match":true,"indicators":[{"value":"2001:db8:bad::/48","feed":"c2-blocklist","category":"blocklist","confidence":100}]}
{"addr":"::ffff:203.0.113.66","match":true,"indicators":[{"value":"203.0.113.66","feed":"c2-blocklist","category":"blocklist","confidence":100}]}
{"addr":"192.0.2.1","match":false,"indicators":[]}
{"addr":"203.0.113.99","match":true,"indicators":[{"value":"203.0.113.99","feed":"scanners","category":"Mirai","confidence":100}]}
{"addr":"203.0.113.140","match":true,"indicators":[{"value":"203.0.113.140","feed":"scanners","category":"Gafgyt","confidence":100}]}'
[ ! -s "$work/err" ] && ok "json: nothing on stderr" || fail "json: stderr $(cat "$work/err")"

run "json, no match" 0 intel check --json --feed "$c2" 192.0.2.1 2001:db8:bae::1 198.18.8.1
expect_out "json, no match" \
'{"addr":"192.0.2.1","match":false,"indicators":[]}
{"addr":"2001:db8:bae::1","match":false,"indicators":[]}
{"addr":"198.18.8.1","match":false,"indicators":[]}'

# Most specific first, equal prefixes by feed name, across formats.
printf '198.18.0.0/15\n198.18.7.200\n' >"$work/wide.txt"
printf 'ip,malware\n198.18.7.200,Emotet\n' >"$work/a-first.csv"
run "most specific first" 1 intel check --json --feed "$c2" --feed "plain:$work/wide.txt" \
  --feed "csv:ip:$work/a-first.csv" 198.18.7.200
expect_out "most specific first" \
'{"addr":"198.18.7.200","match":true,"indicators":[{"value":"198.18.7.200","feed":"a-first","category":"Emotet","confidence":100},{"value":"198.18.7.200","feed":"wide","category":"blocklist","confidence":100},{"value":"198.18.7.0/24","feed":"c2-blocklist","category":"blocklist","confidence":100},{"value":"198.18.0.0/15","feed":"wide","category":"blocklist","confidence":100}]}'

run "text form" 1 intel check --feed "$c2" --feed "$scanners" 203.0.113.99 192.0.2.1 198.18.7.1
expect_out "text form" \
'203.0.113.99: match: 203.0.113.99 (feed scanners, category Mirai, confidence 100)
192.0.2.1: no match
198.18.7.1: match: 198.18.7.0/24 (feed c2-blocklist, category blocklist, confidence 100)'

# Errors: exit 2, the reason on stderr, nothing claimed on stdout.
run "unparsable ADDR" 2 intel check --feed "$c2" 192.0.2.1 192.0.2.300
expect_err "unparsable ADDR" "'192.0.2.300': not an IPv4 address"
[ ! -s "$work/out" ] && ok "unparsable ADDR: no output" || fail "unparsable ADDR: output"
run "a network is not an ADDR" 2 intel check --feed "$c2" 198.18.7.0/24
expect_err "a network is not an ADDR" "a network, not an address"
run "bad feed" 2 intel check --feed "$c2" --feed "$data/plain_bad_address.txt" 203.0.113.66
expect_err "bad feed" "^vigil intel: feed plain_bad_address: line 4: '203.0.113.256': not an IPv4 address$"
[ ! -s "$work/out" ] && ok "bad feed: no answer" || fail "bad feed: answered $(cat "$work/out")"
run "bad CSV feed" 2 intel check --feed "$data/csv_bad_quote.csv" 203.0.113.66
expect_err "bad CSV feed" "feed csv_bad_quote: line 3: unterminated quoted field"
run "bad STIX feed" 2 intel stats --feed "stix:$data/stix_malformed.json"
expect_err "bad STIX feed" "feed stix_malformed: line 8: malformed JSON"
run "missing feed" 2 intel check --feed "$work/none.txt" 192.0.2.1
expect_err "missing feed" "feed none: No such file or directory"
run "bad SPEC" 2 intel check --feed "csv:0:$scanners" 192.0.2.1
expect_err "bad SPEC" "csv column numbers start at 1"
run "two feeds, one name" 2 intel check --feed "$c2" --feed "plain:$c2" 192.0.2.1
expect_err "two feeds, one name" "feed c2-blocklist: another feed has this name"
run "no feed" 2 intel check 192.0.2.1
expect_err "no feed" "at least one --feed"
run "no ADDR" 2 intel check --feed "$c2"
expect_err "no ADDR" "no ADDR"
run "unknown option" 2 intel check --feed "$c2" --bogus 192.0.2.1
expect_err "unknown option" "unknown option '--bogus'"
run "--json is for check" 2 intel stats --feed "$c2" --json
run "unknown subcommand" 2 intel frobnicate
run "no subcommand" 2 intel
run "help" 0 intel --help
expect_out "help" "$("$vigil" intel -h)"

run "stats" 0 intel stats --feed "$c2" --feed "$scanners"
grep -q "^feed c2-blocklist: plain, $c2$" "$work/out" && ok "stats: feed line" || fail "stats: feed line"
grep -q "^  252 bytes, 6 lines, 3 indicators (IPv4 1 exact, 1 prefixes; IPv6 0 exact, 1 prefixes), 0 skipped, 0 expired$" "$work/out" \
  && ok "stats: c2 counts" || fail "stats: c2 counts: $(cat "$work/out")"
grep -q "^feed scanners: csv, " "$work/out" && ok "stats: csv detected" || fail "stats: csv detected"
grep -Eq "^  read [0-9.]+ s, parse [0-9.]+ s, build [0-9.]+ s$" "$work/out" && ok "stats: times" || fail "stats: times"
grep -q "^total: 2 feeds, 5 indicators: IPv4 3 exact, 1 prefixes; IPv6 0 exact, 1 prefixes$" "$work/out" \
  && ok "stats: totals" || fail "stats: totals: $(cat "$work/out")"
grep -Eq "^memory: [1-9][0-9]* bytes \([0-9.]+ bytes per indicator\)$" "$work/out" && ok "stats: memory" || fail "stats: memory"
[ ! -s "$work/err" ] && ok "stats: no progress bar off a terminal" || fail "stats: stderr $(cat "$work/err")"

# A URL feed, and one whose server fails.
coproc SERVER { exec /usr/bin/python3 "$src/tests/intel_feeds/http_server.py" "$work"; }
server_pid=$SERVER_PID
read -r -t 10 port <&"${SERVER[0]}"
if [ -z "${port:-}" ]; then
  fail "http server did not start"
else
  printf '{"status": 200, "type": "text/plain", "body": "192.0.2.77\\n"}' >"$work/site/remote.txt.json"
  printf '{"status": 500, "type": "text/plain", "body": "no\\n"}' >"$work/site/broken.txt.json"
  run "URL feed" 1 intel check --json --feed "http://127.0.0.1:$port/remote.txt" 192.0.2.77
  expect_out "URL feed" '{"addr":"192.0.2.77","match":true,"indicators":[{"value":"192.0.2.77","feed":"remote","category":"blocklist","confidence":100}]}'
  run "URL feed failing" 2 intel check --feed "http://127.0.0.1:$port/broken.txt" 192.0.2.77
  expect_err "URL feed failing" "feed broken: HTTP status 500"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

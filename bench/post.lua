-- wrk script for the HTTP benchmarks (used only when oha is not installed):
-- POSTs the JSON file $BENCH_BODY (or, with BENCH_METHOD=GET, sends GETs)
-- with the bearer token $BENCH_TOKEN when set, and prints one JSON line with
-- the totals, including the count of responses whose status is not
-- $BENCH_STATUS.
-- Run from the repository root.

local expected = tonumber(os.getenv("BENCH_STATUS") or "201")
local method = os.getenv("BENCH_METHOD") or "POST"
wrk.method = method
if method == "POST" then
   local f = assert(io.open(os.getenv("BENCH_BODY") or "bench/complaint.json", "rb"))
   wrk.body = f:read("*a")
   wrk.headers["Content-Type"] = "application/json"
   f:close()
end
local token = os.getenv("BENCH_TOKEN") or ""
if token ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   non_ok = 0
end

function response(status, headers, body)
   if status ~= expected then
      non_ok = non_ok + 1
   end
end

function done(summary, latency, requests)
   local bad = 0
   for _, t in ipairs(threads) do
      bad = bad + t:get("non_ok")
   end
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"non_ok":%d,"socket_errors":%d,' ..
      '"p50_us":%d,"p99_us":%d}\n',
      summary.requests, summary.duration, bad,
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99)))
end

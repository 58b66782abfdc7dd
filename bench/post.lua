-- wrk script for bench/intake.sh (used only when oha is not installed):
-- POSTs bench/complaint.json and prints one JSON line with the totals,
-- including the count of responses whose status is not 201.
-- Run from the repository root.

local f = assert(io.open("bench/complaint.json", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   non201 = 0
end

function response(status, headers, body)
   if status ~= 201 then
      non201 = non201 + 1
   end
end

function done(summary, latency, requests)
   local bad = 0
   for _, t in ipairs(threads) do
      bad = bad + t:get("non201")
   end
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"non201":%d,"socket_errors":%d,' ..
      '"p50_us":%d,"p99_us":%d}\n',
      summary.requests, summary.duration, bad,
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99)))
end

-- One fixed request (wrk builds it once): the ceiling, (a) the conditional poll,
-- (b) the portfolio summary and (d) the overdue page. The URL carries path and query.
local lib = dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")

setup = lib.setup

function init(args)
  lib.reset_counters()
  for name, value in pairs(lib.base_headers()) do wrk.headers[name] = value end
end

-- (a) counts its answers, to show they were 304s; the others leave response() undefined,
-- which spares wrk a call into Lua per answer.
if lib.env("BENCH_COUNT_STATUS") == "1" then
  response = function(status, headers, body) lib.count(status) end
end

done = function(summary, latency, requests) lib.report(summary, latency, requests) end

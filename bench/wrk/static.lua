-- One fixed request (wrk builds it once): the ceiling, (a) the conditional poll,
-- (b) the portfolio summary and (d) the overdue page. The URL carries path and query.
local lib = dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")

setup = lib.setup

function init(args)
  lib.reset_counters()
  for name, value in pairs(lib.base_headers()) do wrk.headers[name] = value end
end

done = function(summary, latency, requests) lib.report(summary, latency, requests) end

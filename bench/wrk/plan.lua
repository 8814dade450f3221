-- Requests taken in turn from BENCH_PLAN, each thread from its own starting line:
-- (c) report summaries and (e) recommendation details over many ids, (f) progress
-- updates, each with a new Idempotency-Key, and (g) the read/write mix.
local lib = dofile(os.getenv("BENCH_WRK_DIR") .. "/lib.lua")

setup = lib.setup

local plan, size, index, sent
local get_headers, post_headers
local run_id = lib.env("BENCH_RUN_ID", "run")
local body_format = '{"organisation_code":"%s","author":"bench","narrative":"bench","status":"in_progress"}'

function init(args)
  lib.reset_counters()
  plan = lib.read_plan(lib.env("BENCH_PLAN"))
  size = #plan
  index = ((tid or 1) * 7919) % size
  sent = 0
  get_headers = lib.base_headers()
  post_headers = lib.base_headers()
  post_headers["Content-Type"] = "application/json"
end

function request()
  index = index % size + 1
  local item = plan[index]
  if item.get then
    return wrk.format("GET", item.get, get_headers)
  end
  sent = sent + 1
  posted = posted + 1
  post_headers["Idempotency-Key"] = string.format("bench-%s-%d-%d", run_id, tid or 1, sent)
  return wrk.format(
    "POST", "/api/v1/recommendations/" .. item.post .. "/progress-updates",
    post_headers, string.format(body_format, item.code)
  )
end

if lib.env("BENCH_COUNT_STATUS") == "1" then
  response = function(status, headers, body)
    lib.count(status)
    if status >= 400 and last_error == "" then
      last_error = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

done = function(summary, latency, requests) lib.report(summary, latency, requests) end

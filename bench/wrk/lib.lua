-- Shared by the benchmark's wrk scripts: settings from the environment, per-thread
-- counters, and one machine-readable line from done():
--   BENCH_JSON {"requests": ..., "latency_us": {"p50": ...}, "errors": {...}, "counters": {...}}
-- Settings (environment variables, set by bench/run.py):
--   BENCH_AUTHORIZATION   value of the Authorization header (absent: no header)
--   BENCH_IF_NONE_MATCH   value of If-None-Match (absent: no header)
--   BENCH_PLAN            file of requests, one a line: "GET <path>" or "POST <recommendation id> <owner code>"
--   BENCH_COUNT_STATUS=1  count responses by status (201s, 2xx, 3xx, 4xx, 5xx) in response()
--   BENCH_RUN_ID          makes Idempotency-Keys unique across runs
local M = {}

function M.env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then return default end
  return value
end

function M.base_headers()
  local headers = { ["Accept"] = "application/json" }
  local auth = M.env("BENCH_AUTHORIZATION")
  if auth then headers["Authorization"] = auth end
  local etag = M.env("BENCH_IF_NONE_MATCH")
  if etag then headers["If-None-Match"] = etag end
  return headers
end

function M.read_plan(path)
  local plan = {}
  for line in io.lines(path) do
    local method, rest = line:match("^(%u+)%s+(.+)$")
    if method == "GET" then
      plan[#plan + 1] = { get = rest }
    elseif method == "POST" then
      local id, code = rest:match("^(%d+)%s+(%S+)$")
      plan[#plan + 1] = { post = id, code = code }
    end
  end
  if #plan == 0 then error("empty plan: " .. path) end
  return plan
end

-- setup() and done() run in wrk's main Lua state: remember the threads there.
M.threads = {}
function M.setup(thread)
  M.threads[#M.threads + 1] = thread
  thread:set("tid", #M.threads)
end

M.counter_names = { "created", "s2xx", "s3xx", "s4xx", "s5xx", "posted" }

function M.count(status)
  if status == 201 then created = created + 1 end
  if status < 300 then s2xx = s2xx + 1
  elseif status < 400 then s3xx = s3xx + 1
  elseif status < 500 then s4xx = s4xx + 1
  else s5xx = s5xx + 1 end
end

function M.reset_counters()
  for _, name in ipairs(M.counter_names) do _G[name] = 0 end
  last_error = ""
end

local function encode(value)
  local kind = type(value)
  if kind == "table" then
    local parts = {}
    for key, item in pairs(value) do
      parts[#parts + 1] = string.format("%q:%s", tostring(key), encode(item))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif kind == "string" then
    return string.format("%q", value):gsub("\\\n", "\\n")
  elseif kind == "number" then
    return string.format("%.17g", value)
  elseif kind == "boolean" then
    return tostring(value)
  end
  return "null"
end

function M.report(summary, latency, requests)
  local counters, errors_seen = {}, {}
  for _, thread in ipairs(M.threads) do
    for _, name in ipairs(M.counter_names) do
      counters[name] = (counters[name] or 0) + (tonumber(thread:get(name)) or 0)
    end
    local seen = thread:get("last_error")
    if type(seen) == "string" and seen ~= "" then errors_seen[#errors_seen + 1] = seen end
  end
  local out = {
    requests = summary.requests,
    duration_us = summary.duration,
    bytes = summary.bytes,
    errors = {
      connect = summary.errors.connect, read = summary.errors.read, write = summary.errors.write,
      status = summary.errors.status, timeout = summary.errors.timeout,
    },
    latency_us = {
      min = latency.min, max = latency.max, mean = latency.mean, stdev = latency.stdev,
      p50 = latency:percentile(50), p90 = latency:percentile(90),
      p99 = latency:percentile(99), p999 = latency:percentile(99.9),
    },
    counters = counters,
    error_samples = errors_seen,
  }
  io.write("BENCH_JSON " .. encode(out) .. "\n")
end

return M

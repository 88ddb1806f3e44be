-- wrk load for P1/P2: POST /transfers/internal between random accounts, a fresh
-- Idempotency-Key per request. Configured through the environment (bench/transfers.py):
--   BENCH_ACCOUNTS_FILE  one account ID per line (the uniform pool)
--   BENCH_HOT_ACCOUNT    when set, every transfer has this account on one side (P2)
--   BENCH_TOKENS         access tokens separated by commas (connections alternate)
--   BENCH_TENANT         X-Tenant-ID
--   BENCH_PATH           the request path (…/transfers/internal)
-- done() prints one JSON line: statuses, errors and latency percentiles (microseconds).

local threads = {}

function setup(thread)
  -- Runs in the main Lua state; thread:set() sets a global in the thread's own state.
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

local accounts = {}
local tokens = {}
local hot = nil
local path = nil
local tenant = nil
local counter = 0
local prefix = nil
statuses = {}
errors = {}

local function split(text, sep)
  local out = {}
  for piece in string.gmatch(text, "([^" .. sep .. "]+)") do
    table.insert(out, piece)
  end
  return out
end

function init(args)
  for line in io.lines(os.getenv("BENCH_ACCOUNTS_FILE")) do
    if #line > 0 then
      table.insert(accounts, line)
    end
  end
  tokens = split(os.getenv("BENCH_TOKENS"), ",")
  hot = os.getenv("BENCH_HOT_ACCOUNT")
  if hot == "" then
    hot = nil
  end
  path = os.getenv("BENCH_PATH")
  tenant = os.getenv("BENCH_TENANT")
  -- Keys must be unique across threads and runs: random bytes, the thread, a counter.
  local urandom = io.open("/dev/urandom", "rb")
  local seed = urandom:read(8)
  urandom:close()
  local hex, n = {}, 0
  for i = 1, #seed do
    local byte = string.byte(seed, i)
    table.insert(hex, string.format("%02x", byte))
    n = (n * 256 + byte) % 2147483647
  end
  math.randomseed(n + thread_no)
  prefix = string.format("wrk-%s-%d", table.concat(hex), thread_no)
end

local function pick()
  local n = #accounts
  if hot then
    local other = accounts[math.random(1, n)]
    if math.random() < 0.5 then
      return hot, other
    end
    return other, hot
  end
  local a = math.random(1, n)
  local b = math.random(1, n - 1)
  if b >= a then
    b = b + 1
  end
  return accounts[a], accounts[b]
end

function request()
  counter = counter + 1
  local source, destination = pick()
  local minor = math.random(100, 100000)
  local body = string.format(
    '{"source_account_id":"%s","destination_account_id":"%s","amount":"%d.%02d",'
      .. '"currency":"NGN","narration":"bench"}',
    source, destination, math.floor(minor / 100), minor % 100
  )
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1],
    ["X-Tenant-ID"] = tenant,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. "-" .. counter,
  }
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status >= 300 then
    local code = string.match(body or "", '"code":"([A-Z_]+)"') or "?"
    local error_key = key .. " " .. code
    errors[error_key] = (errors[error_key] or 0) + 1
  end
end

local function json_map(map)
  local parts = {}
  for k, v in pairs(map) do
    table.insert(parts, string.format('"%s":%d', k, v))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local all_statuses, all_errors = {}, {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("statuses")) do
      all_statuses[k] = (all_statuses[k] or 0) + v
    end
    for k, v in pairs(thread:get("errors")) do
      all_errors[k] = (all_errors[k] or 0) + v
    end
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"socket_errors":{"connect":%d,"read":%d,'
      .. '"write":%d,"timeout":%d,"status":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,'
      .. '"max":%d,"mean":%.1f},"statuses":%s,"errors":%s}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, json_map(all_statuses), json_map(all_errors)
  ))
end

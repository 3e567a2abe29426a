-- wrk script for benchmarks/api_load.py: POST /v1/events with unique ids, a pool of
-- cards, accounts, devices and IPs, event time advancing one second per request.
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  n = 0
  key = os.getenv("FW_KEY")
  run = os.getenv("FW_RUN") or "r"
  cards = tonumber(os.getenv("FW_CARDS") or "5000")
  base = tonumber(os.getenv("FW_T0") or "1795233600")
  math.randomseed(tid * 7919 + 17)
  pause = tonumber(os.getenv("FW_DELAY_MS") or "0")
  headers = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
end

local kinds = {"payment.attempt", "payment.attempt", "payment.attempt", "account.login", "order.placed"}

function request()
  n = n + 1
  local c = math.random(cards)
  local t = base + n
  local kind = kinds[(n % #kinds) + 1]
  local common = string.format(
    '"id":"%s-%d-%d","time":"%s","card":"tok_%d","account":"acct_%d","device":"dev_%d","ip":"10.%d.%d.%d","country":"JP"',
    run, tid, n, os.date("!%Y-%m-%dT%H:%M:%SZ", t), c, c, c % 3000, c % 200, c % 250, tid)
  local body
  if kind == "payment.attempt" then
    local result = (math.random(10) == 1) and '"declined","decline_reason":"insufficient_funds"' or '"approved"'
    body = string.format('{%s,"kind":"payment.attempt","amount":%d,"currency":"JPY","result":%s,"channel":"ecommerce"}',
      common, 500 + math.random(20000), result)
  elseif kind == "account.login" then
    body = string.format('{%s,"kind":"account.login","success":%s}', common, (math.random(8) == 1) and "false" or "true")
  else
    body = string.format('{%s,"kind":"order.placed","order":"o-%d-%d","amount":%d,"currency":"JPY"}',
      common, tid, n, 1000 + math.random(9000))
  end
  return wrk.format("POST", "/v1/events", headers, body)
end

-- paced load (--rate): each connection waits about `pause` ms between requests, jittered
function delay()
  if pause <= 0 then return 0 end
  return pause * (0.5 + math.random())
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d non2xx=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d\n",
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end

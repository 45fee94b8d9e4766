-- wrk script: POST fixture orders round-robin as one courier.
-- client_order_id is dropped so every request creates a new order.
-- WB_TOKEN: the courier's token.  WB_RATE (optional): total requests per
-- second across all of wrk's threads (WB_THREADS of them, default 2), sent
-- as a Poisson stream - the way independent courier apps send - for the
-- latency-at-half-load run.  Each thread keeps its own schedule of send
-- times and a connection that comes free waits for the next one; with
-- enough connections the rate is the one asked for, whatever the latency.
local ffi = require("ffi")
ffi.cdef [[
  struct wb_timespec { long tv_sec; long tv_nsec; };
  int clock_gettime(int clk, struct wb_timespec *ts);
]]
local ts = ffi.new("struct wb_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local bodies = {}
local i = 0
local mean_gap_ms = 0
local next_ms = nil

function init(args)
  -- wrk's threads each run this file: seed each apart, or their streams coincide.
  math.randomseed(tonumber(tostring({}):match("0x(%x+)"), 16) % 2147483647)
  for line in io.lines("tests/data/orders.jsonl") do
    bodies[#bodies + 1] = line:gsub('"client_order_id": "[^"]*", ', '')
  end
  i = math.random(#bodies)
  local rate = tonumber(os.getenv("WB_RATE") or "0")
  local threads = tonumber(os.getenv("WB_THREADS") or "2")
  if rate > 0 then mean_gap_ms = 1000 * threads / rate end
end

function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/orders", {
    ["Authorization"] = "Bearer " .. os.getenv("WB_TOKEN"),
    ["Content-Type"] = "application/json"
  }, bodies[i])
end

function delay()
  if mean_gap_ms == 0 then return 0 end
  local now = now_ms()
  if next_ms == nil or next_ms < now then next_ms = now end
  local at = next_ms
  next_ms = next_ms - mean_gap_ms * math.log(1 - math.random())
  return at - now
end

dofile("tests/bench/summary.lua")

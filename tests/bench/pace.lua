-- Poisson pacing for the latency runs of `make bench`, shared by the wrk
-- scripts.  WB_RATE (optional): total requests per second across all of
-- wrk's threads (WB_THREADS of them, default 2), sent as a Poisson stream -
-- the way independent courier apps send.  Each thread keeps its own
-- schedule of send times and a connection that comes free waits for the
-- next one; with enough connections the rate is the one asked for,
-- whatever the latency.  Without WB_RATE requests go back to back.
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

local mean_gap_ms = 0
local next_ms = nil

-- Call from init(): wrk's threads each run the script, so seed each apart,
-- or their streams coincide.
function pace_init()
  math.randomseed(tonumber(tostring({}):match("0x(%x+)"), 16) % 2147483647)
  local rate = tonumber(os.getenv("WB_RATE") or "0")
  local threads = tonumber(os.getenv("WB_THREADS") or "2")
  if rate > 0 then mean_gap_ms = 1000 * threads / rate end
end

function delay()
  if mean_gap_ms == 0 then return 0 end
  local now = now_ms()
  if next_ms == nil or next_ms < now then next_ms = now end
  local at = next_ms
  next_ms = next_ms - mean_gap_ms * math.log(1 - math.random())
  return at - now
end

-- wrk script for `make bench-pg`: post_orders.lua, with wrk's threads spread
-- over several daemons, so one wrk (one latency histogram) loads them all.
-- WB_PORTS: the daemons' ports on 127.0.0.1, space-separated; thread i goes
-- to port i mod n.  Give -t a multiple of the number of ports (and -c one of
-- -t) and every daemon gets the same number of connections.
dofile("tests/bench/post_orders.lua")

local ports = {}
for p in string.gmatch(os.getenv("WB_PORTS") or "", "%d+") do ports[#ports + 1] = p end
local next_thread = 0

function setup(thread)
  local port = ports[next_thread % #ports + 1]
  next_thread = next_thread + 1
  thread.addr = wrk.lookup("127.0.0.1", port)[1]
end

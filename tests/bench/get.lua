-- wrk script: the raw HTTP ceiling (GET /healthz), same summary line; with
-- WB_RATE, the transport's own latency at a rate (pace.lua).
dofile("tests/bench/pace.lua")

function init(args)
  pace_init()
end

dofile("tests/bench/summary.lua")

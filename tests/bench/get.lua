-- wrk script: the raw HTTP ceiling (GET /healthz), same summary line.
dofile("tests/bench/summary.lua")

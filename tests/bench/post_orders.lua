-- wrk script: POST fixture orders round-robin as one courier.
-- client_order_id is dropped so every request creates a new order.
-- WB_TOKEN: the courier's token.  WB_RATE (optional): paced as a Poisson
-- stream (pace.lua) for the latency-at-half-load run.
dofile("tests/bench/pace.lua")

local bodies = {}
local i = 0

function init(args)
  pace_init()
  for line in io.lines("tests/data/orders.jsonl") do
    bodies[#bodies + 1] = line:gsub('"client_order_id": "[^"]*", ', '')
  end
  i = math.random(#bodies)
end

function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/orders", {
    ["Authorization"] = "Bearer " .. os.getenv("WB_TOKEN"),
    ["Content-Type"] = "application/json"
  }, bodies[i])
end

dofile("tests/bench/summary.lua")

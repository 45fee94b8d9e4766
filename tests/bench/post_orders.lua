-- wrk script: POST fixture orders round-robin as one courier.
-- client_order_id is dropped so every request creates a new order.
-- WB_TOKEN: the courier's token.  WB_RATE (optional): total requests per
-- second across all connections, for the latency-at-half-load run.
local bodies = {}
local i = 0
local delay_ms = 0

function init(args)
  for line in io.lines("tests/data/orders.jsonl") do
    bodies[#bodies + 1] = line:gsub('"client_order_id": "[^"]*", ', '')
  end
  i = math.random(#bodies)
  local rate = tonumber(os.getenv("WB_RATE") or "0")
  local conns = tonumber(os.getenv("WB_CONNS") or "1")
  if rate > 0 then delay_ms = 1000 * conns / rate end
end

function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/orders", {
    ["Authorization"] = "Bearer " .. os.getenv("WB_TOKEN"),
    ["Content-Type"] = "application/json"
  }, bodies[i])
end

function delay()
  if delay_ms > 0 then return delay_ms * (0.5 + math.random()) end
  return 0
end

dofile("tests/bench/summary.lua")

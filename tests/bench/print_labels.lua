-- wrk script: print labels.  WB_TOKEN: a depot token; WB_TNS: a file of
-- tracking numbers, one a line.  WB_BATCH=N sends POST /v1/labels with N
-- tracking numbers per request; otherwise GET one label.pdf per request.
local tns = {}
local i = 0
local batch = tonumber(os.getenv("WB_BATCH") or "0")

function init(args)
  for line in io.lines(os.getenv("WB_TNS")) do tns[#tns + 1] = line end
  i = math.random(#tns)
end

function request()
  local auth = { ["Authorization"] = "Bearer " .. os.getenv("WB_TOKEN") }
  if batch > 0 then
    local list = {}
    for k = 1, batch do
      i = i % #tns + 1
      list[k] = '"' .. tns[i] .. '"'
    end
    auth["Content-Type"] = "application/json"
    return wrk.format("POST", "/v1/labels", auth,
      '{"tracking_nos":[' .. table.concat(list, ",") .. '],"size":"100x150"}')
  end
  i = i % #tns + 1
  return wrk.format("GET", "/v1/orders/" .. tns[i] .. "/label.pdf", auth)
end

dofile("tests/bench/summary.lua")

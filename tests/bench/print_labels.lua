-- wrk script: print labels.  WB_TOKEN: a depot token; WB_TNS: a file of
-- tracking numbers, one a line.  WB_BATCH=N sends POST /v1/labels with N
-- tracking numbers per request; otherwise GET one label per request.
-- WB_FORMAT (pdf, png, zpl, tspl; default pdf) and WB_DPI (203, 300) as
-- the API takes them.
local tns = {}
local i = 0
local batch = tonumber(os.getenv("WB_BATCH") or "0")
local format = os.getenv("WB_FORMAT") or "pdf"
local dpi = os.getenv("WB_DPI") or "203"

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
      '{"tracking_nos":[' .. table.concat(list, ",") .. '],"size":"100x150","format":"' ..
      format .. '","dpi":' .. dpi .. '}')
  end
  i = i % #tns + 1
  return wrk.format("GET", "/v1/orders/" .. tns[i] .. "/label?format=" .. format ..
    "&dpi=" .. dpi, auth)
end

dofile("tests/bench/summary.lua")

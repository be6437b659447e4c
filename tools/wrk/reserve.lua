-- Phase "reserve" (accounting only): POST /bench/reserve, a ticket hold
-- and a goodie hold; the order ids go to BENCH_IDS for the commit phase.
package.path = "tools/wrk/?.lua;" .. package.path
local common = require("common")
local event = os.getenv("BENCH_EVENT") or "bench-accounting"
local class = os.getenv("BENCH_CLASS") or "B"
local body = string.format('{"event":"%s","class":"%s"}', event, class)

setup = common.setup
common.pace()

function init(args)
  ids = {}
end

function request()
  return wrk.format("POST", "/bench/reserve", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, response_body)
  if status == 201 then
    local id = common.field(response_body, "order_id")
    local goodie = string.match(response_body, '"goodie":(%a+)')
    table.insert(ids, id .. " " .. goodie)
  end
end

function done(summary, latency, requests)
  common.write_ids(os.getenv("BENCH_IDS"))
end

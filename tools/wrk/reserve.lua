-- Phase "reserve" (accounting only): POST /bench/reserve, a ticket hold
-- and a goodie hold; the order ids go to BENCH_IDS for the commit phase.
-- The request is the same every time, so wrk builds it once; answers are
-- kept as they come and read for their ids only in done(), after the
-- measured run, so that the load generator takes as little of the shared
-- cores as it can.
package.path = "tools/wrk/?.lua;" .. package.path
local common = require("common")
local event = os.getenv("BENCH_EVENT") or "bench-accounting"
local class = os.getenv("BENCH_CLASS") or "B"

wrk.method = "POST"
wrk.path = "/bench/reserve"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"event":"%s","class":"%s"}', event, class)

setup = common.setup
common.pace()
response = common.keep_created

function done(summary, latency, requests)
  common.write_ids(os.getenv("BENCH_IDS"), function(body)
    local id = common.field(body, "order_id")
    local goodie = string.match(body, '"goodie":(%a+)')
    return id .. " " .. goodie
  end)
end

-- Phase "checkout": POST /api/checkout, one ticket per order; the order
-- ids and payment sessions go to BENCH_IDS for the webhook phase. All
-- buyers of this phase share one e-mail, so the webhook phase can sign
-- exactly what the provider would send, and the request is the same every
-- time: wrk builds it once. Answers are read for their ids only in done(),
-- after the measured run.
package.path = "tools/wrk/?.lua;" .. package.path
local common = require("common")
local event = os.getenv("BENCH_EVENT") or "bench-sale"
local class = os.getenv("BENCH_CLASS") or "B"
local email = os.getenv("BENCH_EMAIL") or "bench@example.com"

wrk.method = "POST"
wrk.path = "/api/checkout"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"event":"%s","class":"%s","quantity":1,"email":"%s"}', event, class, email)

setup = common.setup
common.pace()
response = common.keep_created

function done(summary, latency, requests)
  common.write_ids(os.getenv("BENCH_IDS"), function(body)
    local id = common.field(body, "order_id")
    local session = string.match(common.field(body, "payment_url"), "/mockpay/(cs_%x+)")
    return id .. " " .. session
  end)
end

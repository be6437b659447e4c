-- Phase "checkout": POST /api/checkout, one ticket per order; the order
-- ids and payment sessions go to BENCH_IDS for the webhook phase. All
-- buyers of this phase share one e-mail, so the webhook phase can sign
-- exactly what the provider would send.
package.path = "tools/wrk/?.lua;" .. package.path
local common = require("common")
local event = os.getenv("BENCH_EVENT") or "bench-sale"
local class = os.getenv("BENCH_CLASS") or "B"
email = os.getenv("BENCH_EMAIL") or "bench@example.com"

setup = common.setup
common.pace()

function init(args)
  ids = {}
end

function request()
  local body = string.format(
    '{"event":"%s","class":"%s","quantity":1,"email":"%s"}', event, class, email)
  return wrk.format("POST", "/api/checkout", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status == 201 then
    local id = common.field(body, "order_id")
    local url = common.field(body, "payment_url")
    local session = string.match(url, "/mockpay/(cs_%x+)")
    table.insert(ids, id .. " " .. session)
  end
end

function done(summary, latency, requests)
  common.write_ids(os.getenv("BENCH_IDS"))
end

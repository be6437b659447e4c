-- Phase "full flow": each simulated buyer checks out, pays at the mock
-- provider (which delivers the signed webhook before redirecting), then
-- reads the order until it is final. Any connection of a thread serves any
-- buyer's next step; a new buyer starts when no step is waiting.
-- The step queue is bounded by the number of buyers in flight, which is
-- bounded by the connections.
-- Counts tickets (PAID orders) in `tickets`.
package.path = "tools/wrk/?.lua;" .. package.path
local common = require("common")
local event = os.getenv("BENCH_EVENT") or "bench-sale"
local class = os.getenv("BENCH_CLASS") or "B"

setup = common.setup
common.pace()

function init(args)
  steps = {}      -- queue of pending requests
  head, tail = 1, 0
  counter = 0
  tickets = 0
  polls = 0
end

local function push(step)
  tail = tail + 1
  steps[tail] = step
end

function request()
  if head <= tail then
    local step = steps[head]
    steps[head] = nil
    head = head + 1
    if step[1] == "pay" then
      return wrk.format("POST", "/mockpay/" .. step[2] .. "/succeed", nil, nil)
    end
    return wrk.format("GET", "/api/orders/" .. step[2], nil, nil)
  end
  counter = counter + 1
  local body = string.format(
    '{"event":"%s","class":"%s","quantity":1,"email":"flow%d.%d@example.com"}',
    event, class, thread_index, counter)
  return wrk.format("POST", "/api/checkout", {["Content-Type"] = "application/json"}, body)
end

-- wrk does not say which request a response answers (a thread's
-- connections interleave), so each answer is read for what it is.
function response(status, headers, body)
  if status == 201 then
    local url = common.field(body, "payment_url")
    push({"pay", string.match(url, "/mockpay/(cs_%x+)")})
  elseif status == 303 then
    local location = headers["Location"] or ""
    push({"order", string.match(location, "/orders/(%x+)")})
  elseif status == 200 then
    local state = common.field(body, "status")
    if state == "PAID" then
      tickets = tickets + 1
    elseif state == "HELD" then
      polls = polls + 1
      push({"order", common.field(body, "order_id")})
    end
  end
end

function done(summary, latency, requests)
  local tickets_total = common.sum("tickets")
  io.stderr:write(string.format("tickets: %d\npolls: %d\n", tickets_total, common.sum("polls")))
  local path = os.getenv("BENCH_TICKETS")
  if path then
    local file = assert(io.open(path, "w"))
    file:write(tickets_total, "\n")
    file:close()
  end
end

-- Phases "webhook" and "commit": POST pre-built bodies, one per line of
-- BENCH_REQUESTS ("<signature>\t<body>", signature "-" for none), each
-- thread its own share. When a share runs out it starts again (replays,
-- which the shop answers idempotently); the count of replays is reported.
-- Requests are formatted in init(), before wrk starts its clock.
package.path = "tools/wrk/?.lua;" .. package.path
local common = require("common")
local path = os.getenv("BENCH_PATH")

setup = common.setup
common.pace()

function init(args)
  local lines = common.read_share(os.getenv("BENCH_REQUESTS"), thread_index, #common.threads > 0 and #common.threads or tonumber(os.getenv("BENCH_THREADS")))
  requests = {}
  for index, line in ipairs(lines) do
    local signature, body = string.match(line, "^([^\t]*)\t(.*)$")
    local headers = {["Content-Type"] = "application/json"}
    if signature ~= "-" then
      headers["Mockpay-Signature"] = signature
    end
    requests[index] = wrk.format("POST", path, headers, body)
  end
  next_request = 1
  replays = 0
end

function request()
  if next_request > #requests then
    next_request = 1
    replays = replays + #requests
  end
  local formatted = requests[next_request]
  next_request = next_request + 1
  return formatted
end

function done(summary, latency, requests)
  io.stderr:write(string.format("replayed requests: %d\n", common.sum("replays")))
end

-- Phases "webhook" and "commit": POST pre-built bodies, one per line of
-- BENCH_REQUESTS ("<signature>\t<body>", signature "-" for none), each
-- thread its own share. When a share runs out it starts again (replays,
-- which the shop answers idempotently); the count of replays is reported.
package.path = "tools/wrk/?.lua;" .. package.path
local common = require("common")
local path = os.getenv("BENCH_PATH")

setup = common.setup
common.pace()

function init(args)
  lines = common.read_share(os.getenv("BENCH_REQUESTS"), thread_index, #common.threads > 0 and #common.threads or tonumber(os.getenv("BENCH_THREADS")))
  next_line = 1
  replays = 0
end

function request()
  if next_line > #lines then
    next_line = 1
    replays = replays + #lines
  end
  local line = lines[next_line]
  next_line = next_line + 1
  local signature, body = string.match(line, "^([^\t]*)\t(.*)$")
  local headers = {["Content-Type"] = "application/json"}
  if signature ~= "-" then
    headers["Mockpay-Signature"] = signature
  end
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  io.stderr:write(string.format("replayed requests: %d\n", common.sum("replays")))
end

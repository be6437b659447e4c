-- Shared by the phase scripts of tools/bench: thread bookkeeping and a
-- per-thread list of ids handed to the next phase through a file.
local common = {}
common.threads = {}

function common.setup(thread)
  thread:set("thread_index", #common.threads + 1)
  table.insert(common.threads, thread)
end

-- A response() that keeps the body of every 201 answer in `created`, for
-- done() to read: nothing is parsed while wrk measures.
function common.keep_created(status, headers, body)
  if status == 201 then
    created_count = (created_count or 0) + 1
    if not created then created = {} end
    created[created_count] = body
  end
end

-- Writes one line per kept answer of every thread to `path`: what
-- `line_of(body)` makes of it.
function common.write_ids(path, line_of)
  local file = assert(io.open(path, "w"))
  local count = 0
  for _, thread in ipairs(common.threads) do
    local created = thread:get("created") or {}
    for _, body in ipairs(created) do
      file:write(line_of(body), "\n")
      count = count + 1
    end
  end
  file:close()
  io.stderr:write(string.format("wrote %d ids to %s\n", count, path))
end

-- Sums a numeric global over all threads.
function common.sum(name)
  local total = 0
  for _, thread in ipairs(common.threads) do
    total = total + (thread:get(name) or 0)
  end
  return total
end

-- Reads the lines of `path` that belong to thread `index` of `count`.
function common.read_share(path, index, count)
  local lines = {}
  local n = 0
  for line in io.lines(path) do
    if n % count == index - 1 then
      table.insert(lines, line)
    end
    n = n + 1
  end
  return lines
end

-- The first match of `pattern` in a JSON body (our answers are flat).
function common.field(body, name)
  return string.match(body, '"' .. name .. '":"([^"]*)"')
end

-- With BENCH_DELAY_MS set, every connection waits that long before each
-- request: a fixed offered rate of connections / delay instead of a closed
-- loop, for latency at a given load.
function common.pace()
  local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "")
  if delay_ms then
    delay = function() return delay_ms end
  end
end

return common

-- Every request asks for a random path /p<i>/item, i in [0, K): with K path
-- frontends frontend:<host>/p<i>, each request takes a different prefix.
-- Env: K (number of prefixes), BENCH_WRK_DIR (this directory, to find report.lua).
-- The Host header comes from wrk's -H.
local K = tonumber(os.getenv("K") or "1000")
local rnd = math.random
local fmt = wrk.format

init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

request = function()
  return fmt(nil, "/p" .. rnd(0, K - 1) .. "/item")
end

dofile((os.getenv("BENCH_WRK_DIR") or ".") .. "/report.lua")

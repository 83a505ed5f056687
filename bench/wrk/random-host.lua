-- Every request carries a random Host header <prefix><i><suffix>, i in [0, K).
-- Env: K (number of hosts), HOST_PREFIX ("h"), HOST_SUFFIX (".scale.test"),
--      BENCH_WRK_DIR (this directory, to find report.lua).
local K = tonumber(os.getenv("K") or "1000")
local prefix = os.getenv("HOST_PREFIX") or "h"
local suffix = os.getenv("HOST_SUFFIX") or ".scale.test"
local rnd = math.random
local fmt = wrk.format

init = function(args)
  -- a different sequence per thread and per run
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

request = function()
  return fmt(nil, nil, { Host = prefix .. rnd(0, K - 1) .. suffix })
end

dofile((os.getenv("BENCH_WRK_DIR") or ".") .. "/report.lua")

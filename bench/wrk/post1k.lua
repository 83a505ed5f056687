-- POST with a 1 KiB body on every request. Setting wrk.method/wrk.body once
-- (no request() function) keeps wrk on its fast path: no per-request Lua.
-- Env: BENCH_WRK_DIR (this directory, to find report.lua), BODY_BYTES (1024).
local n = tonumber(os.getenv("BODY_BYTES") or "1024")
wrk.method = "POST"
wrk.body = string.rep("x", n - 1) .. "\n"
wrk.headers["Content-Type"] = "application/octet-stream"

dofile((os.getenv("BENCH_WRK_DIR") or ".") .. "/report.lua")

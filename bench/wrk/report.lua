-- wrk reporting hook: prints one machine-readable line "WRKJSON {...}" at the end.
-- Latencies are in microseconds. err_status counts responses with status > 399.
-- Used alone (`wrk -s report.lua`) it adds no per-request Lua work.
-- (Same format as the shared harness's wrk/report.lua.)
done = function(summary, latency, requests)
  local e = summary.errors
  local dur = summary.duration
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"rps":%.2f,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, dur, summary.bytes, summary.requests / (dur / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end

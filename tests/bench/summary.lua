-- The one summary line every wrk script of `make bench` prints:
-- RESULT rps=... (answered requests, errors left out) p50_ms p99_ms errors total.
done = function(summary, latency, requests)
  local ok = summary.requests - summary.errors.status - summary.errors.connect
           - summary.errors.read - summary.errors.write - summary.errors.timeout
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d total=%d\n",
    ok / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.requests - ok, summary.requests))
end

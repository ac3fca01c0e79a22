-- wrk script: the same request for the mock and the trivial app.
-- BENCH_METHOD (default GET) and BENCH_BODY (default none) come from the environment;
-- the URL given to wrk carries the path and query string.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.headers["X-OpenIDM-Username"] = "openidm-admin"
wrk.headers["X-OpenIDM-Password"] = "openidm-admin"
wrk.headers["X-OpenIDM-NoSession"] = "true"
local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

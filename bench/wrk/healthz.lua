-- wrk script: the baseline, GET /healthz (no auth, no storage), with the same
-- summary line as the other scripts.
function request()
  return wrk.format("GET", "/healthz")
end

-- The RESULT summary line, shared with the other scripts.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "summary.lua")

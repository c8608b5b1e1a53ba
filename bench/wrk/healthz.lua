-- wrk script: the baseline, GET /healthz (no auth, no storage), with the same
-- summary line as the other scripts.
function request()
  return wrk.format("GET", "/healthz")
end

-- setup() numbering the threads and done() printing the RESULT line.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

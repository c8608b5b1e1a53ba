-- wrk script: POST unique records (a unique e-mail each). By default the
-- principal is one of the seeded ones (PV_PRINCIPALS of them, "p-<n>"), so a
-- request is one record write; PV_NEW_PRINCIPALS=1 uses a new principal per
-- request instead (principal directory write + record write).
-- Env: PV_TOKEN, PV_TENANT, PV_COLLECTION, PV_PRINCIPALS, PV_NEW_PRINCIPALS.
local token = os.getenv("PV_TOKEN")
local path = "/v1/tenants/" .. (os.getenv("PV_TENANT") or "bench") ..
             "/collections/" .. (os.getenv("PV_COLLECTION") or "contacts") ..
             "/records"
local principals = tonumber(os.getenv("PV_PRINCIPALS") or "500")
local new_principals = os.getenv("PV_NEW_PRINCIPALS") == "1"
local headers = {
  ["Authorization"] = "Bearer " .. (token or ""),
  ["X-Purpose"] = "service_delivery",
  ["Content-Type"] = "application/json",
}
local counter = 0
local tag = ""


function init(args)
  -- Unique per run and per thread: records of earlier runs never collide.
  tag = string.format("%d-%d", os.time(), thread_no)
  math.randomseed(os.time() + thread_no)
end

function request()
  counter = counter + 1
  local unique = tag .. "-" .. counter
  local principal
  if new_principals then
    principal = "load-" .. unique
  else
    principal = "p-" .. math.random(0, principals - 1)
  end
  local body = string.format(
    '{"principal":"%s","fields":{"email":"load-%s@example.org",' ..
    '"name":"Anna Maria M\\u00fcller","phone":"+49 151 2345 6789",' ..
    '"birth_date":"1987-04-12","loyalty_points":%d}}',
    principal, unique, counter % 1000)
  return wrk.format("POST", path, headers, body)
end

-- setup() numbering the threads and done() printing the RESULT line.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

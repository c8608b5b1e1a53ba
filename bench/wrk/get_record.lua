-- wrk script: GET random records of the seeded set.
-- Env: PV_TOKEN (tenant-admin API key), PV_IDS (file with one record id per
-- line), PV_TENANT, PV_COLLECTION.
local token = os.getenv("PV_TOKEN")
local ids_file = os.getenv("PV_IDS")
local base = "/v1/tenants/" .. (os.getenv("PV_TENANT") or "bench") ..
             "/collections/" .. (os.getenv("PV_COLLECTION") or "contacts") ..
             "/records/"
local ids = {}
local headers = {
  ["Authorization"] = "Bearer " .. (token or ""),
  ["X-Purpose"] = "service_delivery",
}


function init(args)
  for line in io.lines(ids_file) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  if #ids == 0 then error("no record ids in " .. tostring(ids_file)) end
  math.randomseed(os.time() * 100 + thread_no)
end

function request()
  return wrk.format("GET", base .. ids[math.random(#ids)], headers)
end

-- setup() numbering the threads and done() printing the RESULT line.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

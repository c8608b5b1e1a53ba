-- wrk script: GET random records of the set bench/scale_seed.cc wrote:
-- record i (0 <= i < PV_RECORDS) has an id derived from i, computed here as
-- scale_seed.cc's ScaleRecordId does, so no id list is loaded.
-- Env: PV_TOKEN (tenant-admin API key), PV_RECORDS, PV_TENANT, PV_COLLECTION.
local token = os.getenv("PV_TOKEN")
local records = tonumber(os.getenv("PV_RECORDS") or "0")
local base = "/v1/tenants/" .. (os.getenv("PV_TENANT") or "bench") ..
             "/collections/" .. (os.getenv("PV_COLLECTION") or "contacts") ..
             "/records/"
local headers = {
  ["Authorization"] = "Bearer " .. (token or ""),
  ["X-Purpose"] = "service_delivery",
}
local alphabet = "abcdefghijklmnopqrstuvwxyz234567"

-- i in base32, least significant digit first, 13 digits, then the fixed tail.
local function record_id(i)
  local digits = {}
  for k = 1, 13 do
    local d = i % 32
    digits[k] = alphabet:sub(d + 1, d + 1)
    i = (i - d) / 32
  end
  return "rec_" .. table.concat(digits) .. "benchscaleid" .. "a"
end

function init(args)
  if records < 1 then error("PV_RECORDS must be at least 1") end
  math.randomseed(os.time() * 100 + thread_no)
end

function request()
  return wrk.format("GET", base .. record_id(math.random(0, records - 1)), headers)
end

-- setup() numbering the threads and done() printing the RESULT line.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

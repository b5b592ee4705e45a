-- Argo CD health of a DistillationRun (distillery.dev): Progressing while an attempt runs,
-- Healthy when it succeeded, Degraded when it failed. Install: docs/gitops.md.
local hs = {}
local generation = obj.metadata and obj.metadata.generation
local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to start the run"
  return hs
end
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to act on generation " .. generation
  return hs
end
local function condition(type)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end
local attempt = "attempt " .. tostring(status.attempt or 0)
if status.phase == "Succeeded" then
  hs.status = "Healthy"
  local verdict = status.summary and status.summary.verdict
  hs.message = attempt .. " succeeded" .. (verdict and (", verdict " .. verdict) or "")
  return hs
end
if status.phase == "Failed" then
  hs.status = "Degraded"
  local complete = condition("Complete")
  local reason = complete and complete.reason or "Failed"
  hs.message = attempt .. " failed (" .. reason .. "): " .. (status.message or "")
  return hs
end
hs.status = "Progressing"
hs.message = attempt .. ": " .. status.phase
if status.conditions ~= nil then
  for _, c in ipairs(status.conditions) do
    if c.reason == "JobNotStarted" then
      hs.message = hs.message .. " (" .. c.type .. ": JobNotStarted: " .. (c.message or "") .. ")"
    end
  end
end
return hs

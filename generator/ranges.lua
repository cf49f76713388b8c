-- Range observers for int8 calibration: for each tensor the calibration inputs
-- produce, the range [lo, hi] its scale must cover (docs/int8.md widens it to
-- contain 0). Methods:
--   minmax      the smallest and largest value seen
--   percentile  the smallest range that keeps all but 0.01% of the values
--               (each side), read off a histogram
--   mse         the range, among the min/max range shrunk by steps of 2%,
--               whose rounding and clipping together make the least mean
--               squared error over the histogram
-- One pass over the calibration inputs: besides the extremes, each observer
-- keeps a histogram over [-R, R] that doubles R (merging bins in pairs, which
-- is exact) whenever a tensor reaches past it.
local ranges = {}

ranges.METHODS = { minmax = true, percentile = true, mse = true }
ranges.DEFAULT = "mse"
local BINS = 4096
local TAIL = 1e-4

function ranges.new() return { lo = math.huge, hi = -math.huge } end

-- Doubles the histogram's range: old bin i lands in BINS/4 + i // 2.
local function widen(o)
  local h = {}
  for i = 1, BINS do h[i] = 0 end
  for i = 1, BINS do
    local j = BINS // 4 + (i - 1) // 2 + 1
    h[j] = h[j] + o.hist[i]
  end
  o.hist, o.R = h, o.R * 2
end

function ranges.see(o, t)
  local lo, hi = t:minmax()
  o.lo, o.hi = math.min(o.lo, lo), math.max(o.hi, hi)
  local reach = math.max(-lo, hi)
  if reach <= 0 then reach = 1e-30 end
  if not o.hist then
    o.R, o.hist = reach, t:histogram(-reach, reach, BINS)
  else
    while reach > o.R do widen(o) end
    local h = t:histogram(-o.R, o.R, BINS)
    for i = 1, BINS do o.hist[i] = o.hist[i] + h[i] end
  end
  o.hist_lo, o.hist_hi = -o.R, o.R
end

local function percentile(o)
  local total = 0
  for i = 1, BINS do total = total + o.hist[i] end
  local width = (o.hist_hi - o.hist_lo) / BINS
  local cut, acc, first, last = total * TAIL, 0, 1, BINS
  for i = 1, BINS do
    acc = acc + o.hist[i]
    if acc > cut then first = i break end
  end
  acc = 0
  for i = BINS, 1, -1 do
    acc = acc + o.hist[i]
    if acc > cut then last = i break end
  end
  return o.hist_lo + (first - 1) * width, o.hist_lo + last * width
end

-- Expected squared error of quantizing the histogram's values into [lo, hi].
local function mse_of(o, lo, hi)
  local width = (o.hist_hi - o.hist_lo) / BINS
  local step = (hi - lo) / 255
  local err = 0
  for i = 1, BINS do
    local c = o.hist[i]
    if c > 0 then
      local x = o.hist_lo + (i - 0.5) * width
      if x < lo then err = err + c * (x - lo) ^ 2
      elseif x > hi then err = err + c * (x - hi) ^ 2
      else err = err + c * step * step / 12 end
    end
  end
  return err
end

local function mse(o)
  local lo, hi = math.min(o.lo, 0), math.max(o.hi, 0)
  local best_lo, best_hi, best = lo, hi, mse_of(o, lo, hi)
  for k = 1, 35 do
    local f = 1 - 0.02 * k
    local e = mse_of(o, lo * f, hi * f)
    if e < best then best_lo, best_hi, best = lo * f, hi * f, e end
  end
  return best_lo, best_hi
end

-- The range of an observed tensor under `method`, containing 0.
function ranges.range(o, method)
  local lo, hi = o.lo, o.hi
  if lo > hi then lo, hi = 0, 0 end -- never seen (no calibration input reached it)
  if o.hist and method == "percentile" then lo, hi = percentile(o) end
  if o.hist and method == "mse" then lo, hi = mse(o) end
  return math.min(lo, 0), math.max(hi, 0)
end

return ranges

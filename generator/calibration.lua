-- Where an int8 model's calibration inputs come from, and which inputs
-- measure its error (docs/int8.md):
--   --calibrate DIR        every image under DIR, in name order
--   --calibrate LIST.csv   the images a list names, `path` or `path,label` a line
--                          (labels are not needed and ignored; paths relative
--                          to the list; a first line `path` or `path,label` is a header)
--   --calibrate FILE.f32   N inputs of the model's input shape ([C, H, W] each,
--                          NCHW float32 back to back; N from the file's size)
--   none                   seeded N(0,1) inputs, with a warning: real images
--                          are needed for real accuracy
-- Images go through the classifier's own decoder and the variant's eval
-- transform (lg.images: runtime/lg_image.c, lg_preprocess.c). Of n inputs the
-- last quarter (at least one) is held out: the error is measured on inputs
-- that did not choose the scales. Each input is one image [1, C, H, W]: the
-- reference kernels take any batch, so the model's batch does not matter here.
local errors = require("errors")
local host = require("lg.host")
local T = require("lg.tensor")
local limits = require("limits")

local calibration = {}

-- Synthetic inputs when no --calibrate is given: calibration, then held out.
calibration.SYNTHETIC = 24
calibration.SEED = 31337

local function image_cfg(variant, shape)
  return { h = shape[3], w = shape[4], in_chans = shape[2], crop_pct = variant.crop_pct or 0.875,
    crop_mode = variant.crop_mode or "center", interpolation = variant.interpolation or "bicubic",
    mean = variant.mean or { 0.485, 0.456, 0.406 }, std = variant.std or { 0.229, 0.224, 0.225 } }
end

-- The paths a list file names, relative ones relative to the list's folder.
local function list_paths(path)
  local text, why = host.read_file(path, limits.calibration_list_bytes)
  if not text then errors.user("cannot read the calibration list %s: %s", path, why) end
  if text:find("\0", 1, true) then errors.user("calibration list %s holds a NUL byte; it is not a text list", path) end
  text = text:gsub("^\239\187\191", "") -- a UTF-8 byte-order mark
  local dir = path:match("^(.*)/[^/]*$") or "."
  local paths, n = {}, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:gsub("\r$", "")
    local header = n == 1 and (line == "path" or line == "path,label")
    if line:match("%S") and not header then
      local p = line:match("^(.*),[^,]*$") or line
      paths[#paths + 1] = p:sub(1, 1) == "/" and p or (dir .. "/" .. p)
    end
  end
  return paths
end

-- Raw inputs: a whole number of [C, H, W] float32 arrays, all finite.
local function raw_inputs(path, shape)
  local per = shape[2] * shape[3] * shape[4] * 4
  local text, why = host.read_file(path, limits.calibration_raw_bytes)
  if not text then errors.user("cannot read calibration inputs %s: %s", path, why) end
  if #text == 0 or #text % per ~= 0 then
    errors.user("%s has %d bytes, not a whole number of inputs of %dx%dx%d float32 (%d bytes each)", path, #text,
      shape[2], shape[3], shape[4], per)
  end
  local inputs = {}
  for i = 1, #text // per do
    local x = T.from_bytes(text:sub((i - 1) * per + 1, i * per), { 1, shape[2], shape[3], shape[4] })
    if x:nonfinite() > 0 then
      errors.user("%s: input %d holds NaN or Inf; calibration needs finite inputs", path, i)
    end
    inputs[i] = x
  end
  return inputs
end

-- The inputs of `source` (nil: synthetic) for a graph whose input has `shape`:
-- { calibrate = {tensors}, held_out = {tensors}, source = "..." }.
function calibration.inputs(source, variant, shape, o)
  local one = { 1, shape[2], shape[3], shape[4] }
  local inputs, what
  if not source then
    inputs = {}
    for i = 1, calibration.SYNTHETIC do inputs[i] = T.normal(one, calibration.SEED + i, 0, 1) end
    if not o.quiet then
      io.stderr:write("lucidgen: warning: --precision int8 without --calibrate: the scales come from seeded random "
        .. "inputs; calibrate on a few hundred real images (--calibrate DIR) for real accuracy\n")
    end
    what = string.format("%d seeded N(0,1) inputs", #inputs)
  elseif source:match("%.f32$") then
    inputs = raw_inputs(source, shape)
    what = string.format("%d inputs from %s", #inputs, source)
  else
    local paths
    if host.is_dir(source) then
      paths = require("lg.images").list(source)
    elseif host.is_file(source) then
      paths = list_paths(source)
    elseif host.exists(source) then
      errors.user("--calibrate %s is not a regular file or a folder (a FIFO or device is not read); give a folder of "
        .. "images, a list of image paths or a .f32 file", source)
    else
      errors.user("--calibrate %s does not exist; give a folder of images, a list of image paths or a .f32 file", source)
    end
    if #paths > limits.calibration_images then
      errors.user("--calibrate %s names %d images, more than lucidgen's limit of %d; take a sample", source, #paths,
        limits.calibration_images)
    end
    local cfg = image_cfg(variant, shape)
    inputs = {}
    for i, p in ipairs(paths) do
      local x = require("lg.images").load(p, cfg)
      inputs[i] = x:clone(one)
    end
    what = string.format("%d images from %s", #inputs, source)
  end
  if #inputs < 2 then
    errors.user("--calibrate %s holds %d input%s; give at least 2 (a quarter of them measure the error)",
      source or "", #inputs, #inputs == 1 and "" or "s")
  end
  local held = math.max(1, #inputs // 4)
  local set = { calibrate = {}, held_out = {}, source = what }
  for i, x in ipairs(inputs) do
    local into = i > #inputs - held and set.held_out or set.calibrate
    into[#into + 1] = x
  end
  return set
end

return calibration

-- ResNetV2 with Big Transfer (BiT) weights (timm/models/resnetv2.py, _create_resnetv2_bit).
-- Pre-activation bottlenecks, weight-standardized convs (StdConv2d, eps std_conv_eps),
-- GroupNorm(gn_groups, eps gn_eps). stem_type "fixed" = 7x7/2 conv, constant pad 1,
-- 3x3/2 max pool. width_factor = the xN in the name; stem_chs = 64*N,
-- channels = stage output widths {256, 512, 1024, 2048}*N.
--
-- Rows: one block per pretrained tag, keyed by its timm name; `name` is the same
-- with "." -> "_" (what users type). The hub repo is "timm/" .. timm_name and the
-- label set follows from num_classes (see generator/registry.lua).
-- Fields: num_classes (0 = encoder without head), input_size/test_input_size = {h, w},
-- crop_pct/crop_mode/interpolation/mean/std = timm pretrained_cfg preprocessing,
-- acc1/acc5 = ImageNet-1k top-1/top-5 from timm results (nil when not published),
-- params = backbone parameter count (no classifier). seeded = named by our users.
-- default_tag per architecture = what timm.create_model(arch, pretrained=True)
-- loads: the first tag with weights in timm default_cfgs (generate_default_cfgs).
-- tests/unit/check_registry_vs_json.py checks every row against timm's metadata.

local IMAGENET_INCEPTION_MEAN = {0.5, 0.5, 0.5}
local IMAGENET_INCEPTION_STD  = {0.5, 0.5, 0.5}

return {
  family = "resnetv2",

  -- shared by every architecture below
  common = { first_conv = "stem.conv", classifier = "head.fc",
             config = { stem_type = "fixed", preact = true, std_conv_eps = 1e-8, gn_groups = 32, gn_eps = 1e-5,
                        in_channels = 3 } },

  architectures = {
    { arch = "resnetv2_50x1_bit", default_tag = "goog_distilled_in1k",
      config = { layers = {3, 4, 6, 3}, width_factor = 1, stem_chs = 64, channels = {256, 512, 1024, 2048}, num_features = 2048 } },
    { arch = "resnetv2_50x3_bit", default_tag = "goog_in21k_ft_in1k",
      config = { layers = {3, 4, 6, 3}, width_factor = 3, stem_chs = 192, channels = {768, 1536, 3072, 6144}, num_features = 6144 } },
    { arch = "resnetv2_101x1_bit", default_tag = "goog_in21k_ft_in1k",
      config = { layers = {3, 4, 23, 3}, width_factor = 1, stem_chs = 64, channels = {256, 512, 1024, 2048}, num_features = 2048 } },
    { arch = "resnetv2_101x3_bit", default_tag = "goog_in21k_ft_in1k",
      config = { layers = {3, 4, 23, 3}, width_factor = 3, stem_chs = 192, channels = {768, 1536, 3072, 6144}, num_features = 6144 } },
    { arch = "resnetv2_152x2_bit", default_tag = "goog_teacher_in21k_ft_in1k",
      config = { layers = {3, 8, 36, 3}, width_factor = 2, stem_chs = 128, channels = {512, 1024, 2048, 4096}, num_features = 4096 } },
    { arch = "resnetv2_152x4_bit", default_tag = "goog_in21k_ft_in1k",
      config = { layers = {3, 8, 36, 3}, width_factor = 4, stem_chs = 256, channels = {1024, 2048, 4096, 8192}, num_features = 8192 } },
  },

  tags = {
    ---- BiT

    -- resnetv2_50x1_bit
    { name = "resnetv2_50x1_bit_goog_distilled_in1k", timm_name = "resnetv2_50x1_bit.goog_distilled_in1k", seeded = true,
      num_classes = 1000, input_size = {224, 224}, test_input_size = nil,
      crop_pct = 0.875, crop_mode = "center", interpolation = "bicubic", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = 82.82, acc5 = 96.526, params = 23500352 },
    { name = "resnetv2_50x1_bit_goog_in21k", timm_name = "resnetv2_50x1_bit.goog_in21k", seeded = true,
      num_classes = 21843, input_size = {224, 224}, test_input_size = nil,
      crop_pct = 0.875, crop_mode = "center", interpolation = "bilinear", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = nil, acc5 = nil, params = 23500352 },
    { name = "resnetv2_50x1_bit_goog_in21k_ft_in1k", timm_name = "resnetv2_50x1_bit.goog_in21k_ft_in1k", seeded = true,
      num_classes = 1000, input_size = {448, 448}, test_input_size = nil,
      crop_pct = 1.0, crop_mode = "center", interpolation = "bilinear", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = 80.386, acc5 = 95.694, params = 23500352 },

    -- resnetv2_50x3_bit
    { name = "resnetv2_50x3_bit_goog_in21k", timm_name = "resnetv2_50x3_bit.goog_in21k", seeded = true,
      num_classes = 21843, input_size = {224, 224}, test_input_size = nil,
      crop_pct = 0.875, crop_mode = "center", interpolation = "bilinear", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = nil, acc5 = nil, params = 211174080 },
    { name = "resnetv2_50x3_bit_goog_in21k_ft_in1k", timm_name = "resnetv2_50x3_bit.goog_in21k_ft_in1k", seeded = true,
      num_classes = 1000, input_size = {448, 448}, test_input_size = nil,
      crop_pct = 1.0, crop_mode = "center", interpolation = "bilinear", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = 83.982, acc5 = 97.13, params = 211174080 },

    -- resnetv2_101x1_bit
    { name = "resnetv2_101x1_bit_goog_in21k", timm_name = "resnetv2_101x1_bit.goog_in21k", seeded = true,
      num_classes = 21843, input_size = {224, 224}, test_input_size = nil,
      crop_pct = 0.875, crop_mode = "center", interpolation = "bilinear", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = nil, acc5 = nil, params = 42492480 },
    { name = "resnetv2_101x1_bit_goog_in21k_ft_in1k", timm_name = "resnetv2_101x1_bit.goog_in21k_ft_in1k", seeded = true,
      num_classes = 1000, input_size = {448, 448}, test_input_size = nil,
      crop_pct = 1.0, crop_mode = "center", interpolation = "bilinear", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = 82.332, acc5 = 96.524, params = 42492480 },

    -- resnetv2_101x3_bit
    { name = "resnetv2_101x3_bit_goog_in21k", timm_name = "resnetv2_101x3_bit.goog_in21k", seeded = true,
      num_classes = 21843, input_size = {224, 224}, test_input_size = nil,
      crop_pct = 0.875, crop_mode = "center", interpolation = "bilinear", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = nil, acc5 = nil, params = 381789888 },
    { name = "resnetv2_101x3_bit_goog_in21k_ft_in1k", timm_name = "resnetv2_101x3_bit.goog_in21k_ft_in1k", seeded = true,
      num_classes = 1000, input_size = {448, 448}, test_input_size = nil,
      crop_pct = 1.0, crop_mode = "center", interpolation = "bilinear", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = 84.43, acc5 = 97.38, params = 381789888 },

    -- resnetv2_152x2_bit
    { name = "resnetv2_152x2_bit_goog_in21k", timm_name = "resnetv2_152x2_bit.goog_in21k", seeded = true,
      num_classes = 21843, input_size = {224, 224}, test_input_size = nil,
      crop_pct = 0.875, crop_mode = "center", interpolation = "bilinear", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = nil, acc5 = nil, params = 232238208 },
    { name = "resnetv2_152x2_bit_goog_in21k_ft_in1k", timm_name = "resnetv2_152x2_bit.goog_in21k_ft_in1k", seeded = true,
      num_classes = 1000, input_size = {448, 448}, test_input_size = nil,
      crop_pct = 1.0, crop_mode = "center", interpolation = "bilinear", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = 84.468, acc5 = 97.432, params = 232238208 },
    { name = "resnetv2_152x2_bit_goog_teacher_in21k_ft_in1k", timm_name = "resnetv2_152x2_bit.goog_teacher_in21k_ft_in1k", seeded = true,
      num_classes = 1000, input_size = {224, 224}, test_input_size = nil,
      crop_pct = 0.875, crop_mode = "center", interpolation = "bicubic", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = 82.918, acc5 = 96.568, params = 232238208 },
    { name = "resnetv2_152x2_bit_goog_teacher_in21k_ft_in1k_384", timm_name = "resnetv2_152x2_bit.goog_teacher_in21k_ft_in1k_384", seeded = true,
      num_classes = 1000, input_size = {384, 384}, test_input_size = nil,
      crop_pct = 1.0, crop_mode = "center", interpolation = "bicubic", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = 83.858, acc5 = 97.13, params = 232238208 },

    -- resnetv2_152x4_bit
    { name = "resnetv2_152x4_bit_goog_in21k", timm_name = "resnetv2_152x4_bit.goog_in21k", seeded = true,
      num_classes = 21843, input_size = {224, 224}, test_input_size = nil,
      crop_pct = 0.875, crop_mode = "center", interpolation = "bilinear", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = nil, acc5 = nil, params = 928340224 },
    { name = "resnetv2_152x4_bit_goog_in21k_ft_in1k", timm_name = "resnetv2_152x4_bit.goog_in21k_ft_in1k", seeded = true,
      num_classes = 1000, input_size = {480, 480}, test_input_size = nil,
      crop_pct = 1.0, crop_mode = "center", interpolation = "bilinear", mean = IMAGENET_INCEPTION_MEAN, std = IMAGENET_INCEPTION_STD,
      license = "apache-2.0", acc1 = 84.936, acc5 = 97.456, params = 928340224 },
  },
}

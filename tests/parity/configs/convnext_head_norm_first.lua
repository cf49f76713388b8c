-- timm's _hnf head (norm_pre on the feature map, then pool and fc) on a
-- small ConvNeXt with layer scale; run_parity.py --config compares it with
-- ref_convnext.py.
return { family = "convnext", name = "convnext_hnf_small", depths = { 1, 1, 2, 1 }, dims = { 16, 32, 64, 128 },
         layer_scale = true, head_norm_first = true, num_classes = 10 }

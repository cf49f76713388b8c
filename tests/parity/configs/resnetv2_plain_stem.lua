-- A BiT ResNetV2 with stem_type "" (3x3/2 max pool padded with -inf, no
-- constant zero pad); run_parity.py --config compares it with ref_resnetv2.py.
return { family = "resnetv2", name = "resnetv2_plain_stem", layers = { 1, 1, 1, 1 }, stem_type = "",
         num_classes = 10 }

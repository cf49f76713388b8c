-- The shape MLPerf Tiny uses for image classification (its ResNet-8 on 32x32
-- CIFAR-10: a 3x3 stem of 16, one BasicBlock at 16, 32 and 64 channels, global
-- average pool, 10 classes), as close as the ResNet family's config comes:
-- the family's stem always downsamples by 4 (here the "deep" stem: 3x3/2 of 8,
-- 3x3 of 8, 3x3 of 16, then a 3x3/2 max pool) and it always has four stages,
-- so the three stages of 16, 32 and 64 run at 8x8, 4x4 and 2x2 instead of 32x32,
-- 16x16 and 8x8, and a fourth of 64 at 1x1 follows (where its 3x3 convs reduce to
-- their centre taps). 0.16 M parameters, 1.3 M multiply-adds (ResNet-8: 0.08 M,
-- 12.5 M).
return {
  family = "resnet",
  name = "resnet8_like_32px",
  block = "basic",
  layers = { 1, 1, 1, 1 },
  channels = { 16, 32, 64, 64 },
  stem_type = "deep",
  stem_width = 8,
  num_classes = 10,
  input_size = { 32, 32 },
}

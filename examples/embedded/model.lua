-- A ConvNeXt-V2 small enough for a microcontroller (the example in this directory):
-- atto's design (GRN, LayerNorm, GELU, 7x7 depthwise) at an eighth of its widths,
-- for 64x64 inputs and 10 classes: 0.27 M parameters (1.1 MB of flash as fp32),
-- 3.6 M multiply-adds, a 146 KB arena.
return {
  family = "convnext",
  name = "convnextv2_pico_mcu",
  depths = { 1, 1, 2, 1 },
  dims = { 16, 32, 64, 128 },
  use_grn = true,
  num_classes = 10,
  input_size = { 64, 64 },
}

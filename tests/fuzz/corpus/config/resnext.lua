return { layers = {1, 1, 1, 1}, cardinality = 4, base_width = 8, num_classes = 10, stem_type = 'deep', avg_down = true, name = 'tiny_resnext' }

return { family = 'convnext', depths = {1, 1, 2, 1}, dims = {8, 16, 32, 64}, use_grn = true }

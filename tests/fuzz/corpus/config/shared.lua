local a = {1, 2, 3, 4} return { layers = a, channels = a }

local t = {} for i = 1, 4 do t[i] = i * 2 end return { layers = t, mean = {0.5, 0.5, 0.5}, name = ('m'):rep(3) }

local t = {} for i = 1, 20 do t = {t} end return t

local t = {} t.t = t return t

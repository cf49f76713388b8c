return { s = string.format('%5.2f', 1/3) .. table.concat({'a', 'b'}, ','), n = #'abc', m = math.floor(2.5) }

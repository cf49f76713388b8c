-- Counting in whole pieces (tiles, vectors, blocks, chunks), which every kernel
-- descriptor does when it sizes its loops and padded arrays.
local sizes = {}

-- How many b-sized pieces hold a (the last may be partial).
function sizes.cdiv(a, b) return (a + b - 1) // b end

-- a rounded up to whole b-sized pieces.
function sizes.round_up(a, b) return sizes.cdiv(a, b) * b end

return sizes

-- generator/template.lua alone (run by lua_unit from the repository root): the
-- template language the C of templates/ is written in, and the layout rules
-- that keep the generated C clang-format clean.
local check = require("lua_check")
local template = require("template")

local R = template.render_text

check.case("fills_values_and_keeps_floats_float_literals", function()
  check.eq(R("int a = {{A}}; float b = {{B}}f;", { A = 3, B = 1.0 }, "t"), "int a = 3; float b = 1.0f;", "render")
  check.eq(template.c_float(0.875), "0.875", "a float with a fraction")
  check.eq(template.c_float(2.0), "2.0", "an integral float")
  check.eq(template.c_float(1e-30), "1e-30", "an exponent")
end)

check.case("an_unknown_placeholder_is_an_error_naming_it_and_the_template", function()
  local e = check.raises(R, "x = {{MISSING}};", {}, "conv.c.in")
  check.truthy(check.msg(e):find("conv.c.in", 1, true) and check.msg(e):find("MISSING", 1, true),
    "the error names the template and the placeholder: %s", check.msg(e))
end)

check.case("sections_keep_or_drop_their_block_and_nest_by_name", function()
  local t = "{{#A}}a{{^B}}!b{{/B}}{{#C}}c{{/C}}{{/A}}{{^A}}no a{{/A}}"
  check.eq(R(t, { A = 1, B = 0, C = 1 }, "t"), "a!bc", "A on, B off (0 is false), C on")
  check.eq(R(t, { A = 1, B = 1, C = false }, "t"), "a", "A on, B on, C off")
  check.eq(R(t, { A = 0 }, "t"), "no a", "A off: the inverted section")
end)

check.case("a_broken_list_that_fits_is_joined_and_one_that_does_not_stays_broken", function()
  local short = "f(\n    a,\n    b);\n"
  check.eq(R(short, {}, "t"), "f(a, b);\n", "fits in 120 columns: one line, as clang-format would")
  local item = string.rep("x", 50)
  local long = "f(\n    " .. item .. ",\n    " .. item .. ",\n    " .. item .. ");\n"
  check.eq(R(long, {}, "t"), long, "past 120 columns: one item a line")
  local commented = "g(\n    a, // why\n    b);\n"
  check.eq(R(commented, {}, "t"), commented, "a list with a line comment stays broken")
end)

check.case("a_declaration_breaks_as_clang_format_does", function()
  check.eq(template.declaration("extern const char", "p_blob", "[10];"), "extern const char p_blob[10];", "fits")
  local name = "m_" .. string.rep("n", 110)
  check.eq(template.declaration("extern const unsigned char", name, "[N];"),
    "extern const unsigned char\n    " .. name .. "[N];", "the declarator on the next line")
  local longer = "m_" .. string.rep("n", 118)
  check.eq(template.declaration("extern const unsigned char", longer, "[BYTES];"),
    "extern const unsigned char " .. longer .. "\n    [BYTES];", "then the size on a line of its own")
end)

check.run()

# cmake -DLUCIDGEN=path/to/lucidgen -DOUT=lucidgen.1 -P man_page.cmake
#
# The man page is `lucidgen --help` as it is: a NAME line for apropos, then
# the help text in no-fill mode, so its layout and its option lines read the
# same in `man lucidgen` as on the terminal.
execute_process(COMMAND ${LUCIDGEN} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
execute_process(COMMAND ${LUCIDGEN} --version OUTPUT_VARIABLE version)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${LUCIDGEN} --help failed (exit ${rc})")
endif()
string(STRIP "${version}" version)
# roff: a backslash is \e, a minus is \-, and a line may not start with . or '
string(REPLACE "\\" "\\e" help "${help}")
string(REPLACE "-" "\\-" help "${help}")
string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
file(WRITE ${OUT}.tmp
  ".TH LUCIDGEN 1 \"\" \"${version}\" \"User Commands\"\n"
  ".SH NAME\n"
  "lucidgen \\- compile timm image classifiers into standalone C\n"
  ".SH DESCRIPTION\n"
  ".nf\n"
  "${help}"
  ".fi\n")
file(RENAME ${OUT}.tmp ${OUT})

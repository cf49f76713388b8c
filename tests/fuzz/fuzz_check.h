/* What every libFuzzer target here shares: REQUIRE aborts (libFuzzer then
 * saves the input as a crash), and error messages must be one line. */
#ifndef LG_FUZZ_CHECK_H
#define LG_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) \
  do { \
    if (!(cond)) { \
      fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      abort(); \
    } \
  } while (0)

#define REQUIRE_ONE_LINE(msg) REQUIRE((msg)[0] != '\0' && !strchr((msg), '\n'))

#endif

/* check: the checks and the runner the C unit tests share. A test is a void
 * function named after the behaviour it pins. A failed check prints
 * file:line, the condition and the caller's message (the numbers that
 * differ) on stderr:
 *
 *   CHECK(cond, fmt, ...)   stop the test: later lines would use what failed
 *   EXPECT(cond, fmt, ...)  note the failure and go on (loops that should
 *                           report every mismatch; helpers returning a value)
 *
 *   int main(void) {
 *     static const check_test tests[] = {CHECK_TEST(rejects_x), CHECK_TEST(parses_y)};
 *     return check_run(tests, sizeof tests / sizeof tests[0]);
 *   }
 *
 * check_run prints "OK     <test>" or "NOT OK <test>" per test, then
 * "N passed, M failed"; the exit status is 1 when any test failed. */
#ifndef LG_TESTS_CHECK_H
#define LG_TESTS_CHECK_H

#include <stddef.h>
#include <stdio.h>

static int check_failures; /* failed checks in the current test */

/* `text` is the condition as written (#cond in the caller, before macro expansion). */
#define CHECK_REPORT_(text, ...) \
  do { \
    fprintf(stderr, "    %s:%d: %s: ", __FILE__, __LINE__, text); \
    fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr); \
    check_failures++; \
  } while (0)

#define CHECK(cond, ...) \
  do { \
    if (!(cond)) { \
      CHECK_REPORT_(#cond, __VA_ARGS__); \
      return; \
    } \
  } while (0)

#define EXPECT(cond, ...) \
  do { \
    if (!(cond)) \
      CHECK_REPORT_(#cond, __VA_ARGS__); \
  } while (0)

typedef struct {
  const char *name;
  void (*fn)(void);
} check_test;

#define CHECK_TEST(fn) \
  { #fn, fn }

static inline int check_run(const check_test *tests, size_t n) {
  setvbuf(stdout, NULL, _IONBF, 0); /* keep results in order with the stderr details */
  size_t n_failed = 0;
  for (size_t i = 0; i < n; i++) {
    check_failures = 0;
    tests[i].fn();
    printf("%s %s\n", check_failures ? "NOT OK" : "OK    ", tests[i].name);
    n_failed += check_failures != 0;
  }
  printf("%zu passed, %zu failed\n", n - n_failed, n_failed);
  return n_failed ? 1 : 0;
}

#endif

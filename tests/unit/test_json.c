/* Unit tests for lg_json: one function per behaviour; a failing check prints
 * the input and what differed (the runner is check.h). */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lg_json.h"

/* Parses text[0..len) from an exact-size heap copy (so ASan/valgrind catch
 * any read past len); prints the error and returns NULL on failure. */
static lg_json *parse_n(const char *text, size_t len) {
  char *copy = malloc(len ? len : 1);
  memcpy(copy, text, len);
  lg_json *root = NULL;
  char err[200] = "";
  lg_status s = lg_json_parse(copy, len, &root, err, sizeof err);
  free(copy);
  if (s != LG_OK)
    fprintf(stderr, "    parse of '%.*s' failed: %s\n", (int)len, text, err);
  return root;
}

static lg_json *parse(const char *text) { return parse_n(text, strlen(text)); }

/* 1 when text[0..len) is rejected with LG_ERR_FORMAT and a message containing
 * `want`; otherwise prints what happened and returns 0. */
static int rejects_n(const char *text, size_t len, const char *want) {
  char *copy = malloc(len ? len : 1);
  memcpy(copy, text, len);
  lg_json *root = NULL;
  char err[200] = "";
  lg_status s = lg_json_parse(copy, len, &root, err, sizeof err);
  free(copy);
  if (s == LG_OK) {
    fprintf(stderr, "    '%.*s' parsed but should be rejected (\"%s\")\n", (int)len, text, want);
    lg_json_free(root);
    return 0;
  }
  if (s != LG_ERR_FORMAT || root != NULL || !strstr(err, want)) {
    fprintf(
        stderr,
        "    '%.*s': got %s \"%s\", want format error containing \"%s\"\n",
        (int)len,
        text,
        lg_status_name(s),
        err,
        want);
    return 0;
  }
  return 1;
}

static int rejects(const char *text, const char *want) { return rejects_n(text, strlen(text), want); }

static void parses_scalars_and_literals(void) {
  lg_json *j = parse("true");
  CHECK(j && j->type == LG_JSON_BOOL && j->boolean == 1, "true");
  lg_json_free(j);
  j = parse("false");
  CHECK(j && j->type == LG_JSON_BOOL && j->boolean == 0, "false");
  lg_json_free(j);
  j = parse("null");
  CHECK(j && j->type == LG_JSON_NULL, "null");
  lg_json_free(j);
  j = parse("\"hi\"");
  CHECK(j && j->type == LG_JSON_STRING && j->str_len == 2 && strcmp(j->str, "hi") == 0, "\"hi\"");
  lg_json_free(j);
  j = parse("42");
  CHECK(j && j->type == LG_JSON_NUMBER && j->is_int && j->i64 == 42 && j->number == 42.0, "42");
  lg_json_free(j);
}

static void parses_nested_containers_in_document_order(void) {
  lg_json *j = parse("{\"b\": [1, [2, 3], {}], \"a\": {\"x\": null}, \"c\": []}");
  CHECK(j && j->type == LG_JSON_OBJECT, "root is not an object");
  CHECK(lg_json_len(j) == 3, "3 members, got %zu", lg_json_len(j));
  CHECK(
      strcmp(lg_json_key_at(j, 0), "b") == 0 && strcmp(lg_json_key_at(j, 1), "a") == 0 &&
          strcmp(lg_json_key_at(j, 2), "c") == 0,
      "keys out of document order: %s %s %s",
      lg_json_key_at(j, 0),
      lg_json_key_at(j, 1),
      lg_json_key_at(j, 2));
  const lg_json *b = lg_json_get(j, "b");
  CHECK(b && b->type == LG_JSON_ARRAY && lg_json_len(b) == 3, "b");
  const lg_json *inner = lg_json_at(b, 1);
  int64_t v = 0;
  CHECK(lg_json_len(inner) == 2 && lg_json_int64(lg_json_at(inner, 1), &v) && v == 3, "b[1][1] is not 3");
  CHECK(lg_json_at(b, 2)->type == LG_JSON_OBJECT && lg_json_len(lg_json_at(b, 2)) == 0, "b[2] {}");
  CHECK(lg_json_get(lg_json_get(j, "a"), "x")->type == LG_JSON_NULL, "a.x is not null");
  CHECK(lg_json_len(lg_json_get(j, "c")) == 0, "c is not empty");
  CHECK(lg_json_get(j, "missing") == NULL, "missing key found");
  lg_json_free(j);
}

static void decodes_simple_escapes(void) {
  lg_json *j = parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"");
  CHECK(j && j->type == LG_JSON_STRING, "escape string did not parse");
  CHECK(j->str_len == 8 && memcmp(j->str, "\"\\/\b\f\n\r\t", 8) == 0, "decoded to %zu bytes '%s'", j->str_len, j->str);
  lg_json_free(j);
}

static void decodes_unicode_escapes_and_surrogate_pairs_to_utf8(void) {
  struct {
    const char *json, *utf8;
  } cases[] = {
      {"\"\\u0041\"", "A"},
      {"\"\\u00e9\"", "\xC3\xA9"},
      {"\"\\u00E9\"", "\xC3\xA9"},
      {"\"\\u20ac\"", "\xE2\x82\xAC"},
      {"\"\\uFFFF\"", "\xEF\xBF\xBF"},
      {"\"\\uD83D\\uDE00\"", "\xF0\x9F\x98\x80"}, /* U+1F600 */
      {"\"\\uD800\\uDC00\"", "\xF0\x90\x80\x80"}, /* U+10000 */
      {"\"\\uDBFF\\uDFFF\"", "\xF4\x8F\xBF\xBF"}, /* U+10FFFF */
      {"\"a\\u00e9b\"",
       "a\xC3\xA9"
       "b"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lg_json *j = parse(cases[i].json);
    CHECK(j, "%s did not parse", cases[i].json);
    int same = j->str_len == strlen(cases[i].utf8) && memcmp(j->str, cases[i].utf8, j->str_len) == 0;
    lg_json_free(j);
    CHECK(same, "%s decoded wrongly", cases[i].json);
  }
}

static void rejects_lone_surrogates(void) {
  CHECK(rejects("\"\\uD800\"", "not followed by a low surrogate"), "lone high");
  CHECK(rejects("\"\\uD800x\"", "not followed by a low surrogate"), "high then text");
  CHECK(rejects("\"\\uD800\\u0041\"", "not followed by a low surrogate"), "high then BMP");
  CHECK(rejects("\"\\uD800\\uD800\"", "not followed by a low surrogate"), "high then high");
  CHECK(rejects("\"\\uDC00\"", "unpaired low surrogate"), "lone low");
  CHECK(rejects("\"\\u12\"", "4 hex digits"), "short \\u");
  CHECK(rejects("\"\\u12G4\"", "4 hex digits"), "bad hex");
}

static void keeps_raw_utf8_and_rejects_invalid_utf8(void) {
  lg_json *j = parse("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
  CHECK(j && j->str_len == 10, "valid raw UTF-8 rejected or mangled");
  lg_json_free(j);
  const char *bad[] = {
      "\"\xC0\xAF\"", /* overlong '/' */
      "\"\xE0\x80\xAF\"", /* overlong 3-byte */
      "\"\xED\xA0\x80\"", /* UTF-16 surrogate encoded in UTF-8 */
      "\"\xF4\x90\x80\x80\"", /* above U+10FFFF */
      "\"\xE2\x82\"", /* truncated */
      "\"\x80\"", /* lone continuation byte */
      "\"\xFF\"",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK(rejects(bad[i], "invalid UTF-8"), "bad UTF-8 case %zu", i);
  CHECK(rejects_n("\"\xE2\x82", 3, "invalid UTF-8"), "UTF-8 truncated by end of input");
}

static void rejects_control_characters_in_strings(void) {
  CHECK(rejects("\"a\nb\"", "control character"), "raw newline");
  CHECK(rejects("\"a\tb\"", "control character"), "raw tab");
  CHECK(rejects("\"\x01\"", "control character"), "raw 0x01");
  CHECK(rejects("\"\\x41\"", "invalid escape"), "\\x escape");
  CHECK(rejects("\"\\'\"", "invalid escape"), "\\' escape");
  lg_json *j = parse("\"\x7F\"");
  CHECK(j && j->str_len == 1, "DEL is not a control character in JSON");
  lg_json_free(j);
}

static void keeps_embedded_nul_in_strings(void) {
  lg_json *j = parse("\"a\\u0000b\"");
  CHECK(
      j && j->str_len == 3 && j->str[0] == 'a' && j->str[1] == '\0' && j->str[2] == 'b' && j->str[3] == '\0',
      "\\u0000 not kept as an embedded NUL");
  lg_json_free(j);
}

static void enforces_depth_limit(void) {
  char buf[2 * (LG_JSON_MAX_DEPTH + 1) + 1];
  for (int i = 0; i < LG_JSON_MAX_DEPTH; i++) {
    buf[i] = '[';
    buf[LG_JSON_MAX_DEPTH + i] = ']';
  }
  lg_json *j = parse_n(buf, 2 * LG_JSON_MAX_DEPTH);
  CHECK(j, "%d nested arrays should be accepted", LG_JSON_MAX_DEPTH);
  lg_json_free(j);
  for (int i = 0; i <= LG_JSON_MAX_DEPTH; i++) {
    buf[i] = '[';
    buf[LG_JSON_MAX_DEPTH + 1 + i] = ']';
  }
  CHECK(
      rejects_n(buf, 2 * (LG_JSON_MAX_DEPTH + 1), "nesting deeper than 64 levels at byte 64"),
      "%d nested arrays",
      LG_JSON_MAX_DEPTH + 1);
  /* mixed objects and arrays count the same */
  char deep[8 * (LG_JSON_MAX_DEPTH + 1) + 8];
  size_t o = 0;
  for (int i = 0; i <= LG_JSON_MAX_DEPTH; i++)
    o += (size_t)sprintf(deep + o, i % 2 ? "[" : "{\"k\":");
  o += (size_t)sprintf(deep + o, "1");
  for (int i = LG_JSON_MAX_DEPTH; i >= 0; i--)
    deep[o++] = i % 2 ? ']' : '}';
  CHECK(rejects_n(deep, o, "nesting deeper"), "65 nested objects/arrays");
}

static void parses_integers_exactly_beyond_2_53(void) {
  lg_json *j = parse("[9007199254740993, 9223372036854775807, -9223372036854775808, "
                     "18446744073709551615]");
  CHECK(j, "did not parse");
  int64_t v;
  uint64_t u;
  CHECK(lg_json_int64(lg_json_at(j, 0), &v) && v == 9007199254740993LL, "2^53+1 read as %lld", (long long)v);
  CHECK(lg_json_at(j, 0)->number == 9007199254740992.0, "the double view rounds 2^53+1 to 2^53");
  CHECK(lg_json_int64(lg_json_at(j, 1), &v) && v == INT64_MAX, "INT64_MAX");
  CHECK(lg_json_int64(lg_json_at(j, 2), &v) && v == INT64_MIN, "INT64_MIN read as %lld", (long long)v);
  CHECK(!lg_json_int64(lg_json_at(j, 3), &v), "UINT64_MAX does not fit int64");
  CHECK(lg_json_uint64(lg_json_at(j, 3), &u) && u == UINT64_MAX, "UINT64_MAX read as %llu", (unsigned long long)u);
  CHECK(!lg_json_uint64(lg_json_at(j, 2), &u), "negative number reported as uint64");
  lg_json_free(j);
}

static void detects_integer_overflow(void) {
  lg_json *j = parse("[9223372036854775808, 18446744073709551616, -9223372036854775809, "
                     "123456789012345678901234567890]");
  CHECK(j, "did not parse");
  int64_t v;
  uint64_t u;
  CHECK(
      !lg_json_int64(lg_json_at(j, 0), &v) && lg_json_uint64(lg_json_at(j, 0), &u) && u == 9223372036854775808ULL,
      "2^63 must fit uint64 only");
  for (size_t i = 1; i < 4; i++) {
    const lg_json *n = lg_json_at(j, i);
    CHECK(!lg_json_int64(n, &v) && !lg_json_uint64(n, &u), "element %zu should not be exact", i);
    CHECK(n->type == LG_JSON_NUMBER && isfinite(n->number), "element %zu double", i);
  }
  CHECK(
      fabs(lg_json_at(j, 1)->number - 18446744073709551616.0) < 1.0,
      "2^64 as double is %.17g",
      lg_json_at(j, 1)->number);
  lg_json_free(j);
}

static void treats_fraction_and_exponent_as_non_integers(void) {
  lg_json *j = parse("[1.0, 1e2, 2E0, 5]");
  CHECK(j, "did not parse");
  int64_t v;
  CHECK(!lg_json_int64(lg_json_at(j, 0), &v) && lg_json_at(j, 0)->number == 1.0, "1.0");
  CHECK(!lg_json_int64(lg_json_at(j, 1), &v) && lg_json_at(j, 1)->number == 100.0, "1e2");
  CHECK(!lg_json_int64(lg_json_at(j, 2), &v) && lg_json_at(j, 2)->number == 2.0, "2E0");
  CHECK(lg_json_int64(lg_json_at(j, 3), &v) && v == 5, "5");
  lg_json_free(j);
}

static void parses_number_edge_cases(void) {
  struct {
    const char *text;
    double want;
  } cases[] = {
      {"0", 0.0},
      {"-0", -0.0},
      {"0.5e-3", 0.0005},
      {"1E+2", 100.0},
      {"1e-400", 0.0},
      {"123456789.125", 123456789.125},
      {"-12.5e1", -125.0},
      {"0.1", 0.1},
      {"1.7976931348623157e308", 1.7976931348623157e308},
      {"4.9e-324", 4.9e-324},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lg_json *j = parse(cases[i].text);
    CHECK(j && j->type == LG_JSON_NUMBER, "%s did not parse", cases[i].text);
    double got = j->number;
    lg_json_free(j);
    CHECK(
        got == cases[i].want && signbit(got) == signbit(cases[i].want),
        "%s: got %.17g want %.17g",
        cases[i].text,
        got,
        cases[i].want);
  }
  lg_json *j = parse("-0");
  int64_t v = 1;
  CHECK(j && lg_json_int64(j, &v) && v == 0, "-0 is the integer 0");
  lg_json_free(j);
}

static void rejects_invalid_numbers(void) {
  struct {
    const char *text, *want;
  } cases[] = {
      {"01", "leading zero"},
      {"-01", "leading zero"},
      {"1.", "digit after '.'"},
      {".5", "unexpected character"},
      {"+1", "unexpected character"},
      {"-", "expected a digit"},
      {"1e", "digit in exponent"},
      {"1e+", "digit in exponent"},
      {"0x10", "unexpected characters after"},
      {"NaN", "unexpected character"},
      {"Infinity", "unexpected character"},
      {"-Infinity", "expected a digit"},
      {"1.5.2", "unexpected characters after"},
      {"- 1", "expected a digit"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    CHECK(rejects(cases[i].text, cases[i].want), "%s", cases[i].text);
}

static void rejects_numbers_outside_double_range(void) {
  CHECK(rejects("1e400", "number out of double range at byte 0"), "1e400");
  CHECK(rejects("[0, -1e400]", "number out of double range at byte 4"), "-1e400");
}

static void ignores_locale_decimal_point(void) {
  const char *old = setlocale(LC_NUMERIC, NULL);
  char saved[64];
  snprintf(saved, sizeof saved, "%s", old ? old : "C");
  const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "de_DE"};
  int switched = 0;
  for (size_t i = 0; i < 4 && !switched; i++)
    switched = setlocale(LC_NUMERIC, names[i]) != NULL;
  if (!switched) {
    printf("       (skipped: no locale with a ',' decimal point installed)\n");
    return;
  }
  lg_json *j = parse("1.5");
  double got = j ? j->number : 0;
  lg_json_free(j);
  setlocale(LC_NUMERIC, saved);
  CHECK(got == 1.5, "1.5 parsed as %g under a ',' locale", got);
}

static void rejects_trailing_garbage(void) {
  CHECK(rejects("{} x", "unexpected characters after the JSON value at byte 3"), "{} x");
  CHECK(rejects("[1]]", "unexpected characters after the JSON value at byte 3"), "[1]]");
  CHECK(rejects("1 2", "unexpected characters after"), "1 2");
  CHECK(rejects("truex", "unexpected characters after"), "truex");
  CHECK(rejects("nullnull", "unexpected characters after"), "nullnull");
  CHECK(rejects_n("{}\0", 3, "unexpected characters after"), "NUL after the value");
}

static void accepts_surrounding_whitespace(void) {
  lg_json *j = parse(" \t\r\n{ \"a\" : [ 1 , 2 ] } \n    ");
  CHECK(j && lg_json_len(lg_json_get(j, "a")) == 2, "whitespace around tokens");
  lg_json_free(j);
  CHECK(rejects("\f{}", "unexpected character"), "form feed is not JSON whitespace");
  CHECK(rejects("\xEF\xBB\xBF{}", "unexpected character"), "a BOM is not accepted");
}

static void rejects_trailing_commas(void) {
  CHECK(rejects("[1,]", "unexpected character at byte 3"), "[1,]");
  CHECK(rejects("{\"a\":1,}", "expected a string key at byte 7"), "{\"a\":1,}");
  CHECK(rejects("[,1]", "unexpected character"), "[,1]");
}

static void rejects_empty_and_whitespace_only_input(void) {
  CHECK(rejects_n("", 0, "unexpected end of input at byte 0"), "empty");
  CHECK(rejects("   \n", "unexpected end of input at byte 4"), "whitespace only");
}

static void rejects_malformed_structure(void) {
  struct {
    const char *text, *want;
  } cases[] = {
      {"tru", "invalid literal"},
      {"nul", "invalid literal"},
      {"True", "unexpected character"},
      {"[1 2]", "expected ',' or ']'"},
      {"{\"a\" 1}", "expected ':'"},
      {"{1:2}", "expected a string key"},
      {"'a'", "unexpected character"},
      {"{\"a\":}", "unexpected character"},
      {"[", "unexpected end of input"},
      {"{", "expected a string key"},
      {"\"abc", "unterminated string starting at byte 0"},
      {"[\"a\\", "unterminated escape"},
      {"{\"a\":1 \"b\":2}", "expected ',' or '}'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    CHECK(rejects(cases[i].text, cases[i].want), "%s", cases[i].text);
}

static void keeps_duplicate_keys_in_order(void) {
  lg_json *j = parse("{\"a\": 1, \"b\": 0, \"a\": 2}");
  CHECK(j && lg_json_len(j) == 3, "duplicate keys must all be kept");
  CHECK(
      strcmp(lg_json_key_at(j, 0), "a") == 0 && strcmp(lg_json_key_at(j, 2), "a") == 0,
      "keys %s, %s",
      lg_json_key_at(j, 0),
      lg_json_key_at(j, 2));
  int64_t v = 0;
  CHECK(lg_json_int64(lg_json_get(j, "a"), &v) && v == 1, "lg_json_get returns the first: got %lld", (long long)v);
  CHECK(lg_json_int64(lg_json_at(j, 2), &v) && v == 2, "the second 'a' is 2");
  lg_json_free(j);
}

static void reports_byte_offset_of_error(void) {
  CHECK(rejects("[1, 2, x]", "at byte 7"), "offset of x");
  CHECK(rejects("{\"a\": [1, 2}", "expected ',' or ']' in array at byte 11"), "offset of }");
  char err[8];
  lg_json *j = NULL;
  lg_status s = lg_json_parse("[", 1, &j, err, sizeof err);
  CHECK(s == LG_ERR_FORMAT && strlen(err) == sizeof err - 1, "message truncated to the buffer");
  s = lg_json_parse("[", 1, &j, NULL, 0);
  CHECK(s == LG_ERR_FORMAT && j == NULL, "NULL error buffer is allowed");
}

static void never_reads_past_len(void) {
  lg_json *j = parse_n("[1,2]garbage", 5);
  CHECK(j && lg_json_len(j) == 2, "only the first 5 bytes are JSON");
  lg_json_free(j);
  CHECK(rejects_n("true", 3, "invalid literal"), "'tru' of len 3");
  CHECK(rejects_n("\"abc\"", 4, "unterminated string"), "string cut by len");
  CHECK(rejects_n("\"\\u00e9\"", 5, "4 hex digits"), "\\u cut by len");
  CHECK(rejects_n("\"\\uD83D\\uDE00\"", 10, "not followed by a low surrogate"), "pair cut by len");
  j = parse_n("123", 2);
  int64_t v = 0;
  CHECK(j && lg_json_int64(j, &v) && v == 12, "number cut by len is 12, got %lld", (long long)v);
  lg_json_free(j);
}

static void accessors_tolerate_null_and_wrong_types(void) {
  lg_json *j = parse("[\"s\", 1.5]");
  CHECK(j, "did not parse");
  int64_t v;
  uint64_t u;
  CHECK(lg_json_get(NULL, "a") == NULL && lg_json_get(j, "a") == NULL, "get on non-object");
  CHECK(lg_json_len(NULL) == 0 && lg_json_len(lg_json_at(j, 0)) == 0, "len of non-container");
  CHECK(lg_json_at(j, 2) == NULL && lg_json_at(NULL, 0) == NULL, "at out of range");
  CHECK(lg_json_key_at(j, 0) == NULL, "array elements have no key");
  CHECK(
      !lg_json_int64(lg_json_at(j, 0), &v) && !lg_json_int64(lg_json_at(j, 1), &v) && !lg_json_uint64(NULL, &u),
      "int64 of a string / fraction / NULL");
  CHECK(strcmp(lg_json_type_name(LG_JSON_OBJECT), "object") == 0, "type name");
  lg_json_free(j);
  lg_json_free(NULL);
}

static void rejects_more_values_than_the_node_limit(void) {
  size_t n = LG_JSON_MAX_NODES; /* n zeros + the array itself = limit + 1 */
  char *text = malloc(2 * n + 1);
  text[0] = '[';
  for (size_t i = 0; i < n; i++) {
    text[1 + 2 * i] = '0';
    text[2 + 2 * i] = i + 1 < n ? ',' : ']';
  }
  lg_json *j = NULL;
  char err[200] = "";
  lg_status s = lg_json_parse(text, 2 * n + 1, &j, err, sizeof err);
  free(text);
  CHECK(s == LG_ERR_FORMAT && strstr(err, "more than 1048576 JSON values"), "got %s \"%s\"", lg_status_name(s), err);
}

int main(void) {
  static const check_test tests[] = {
      CHECK_TEST(parses_scalars_and_literals),
      CHECK_TEST(parses_nested_containers_in_document_order),
      CHECK_TEST(decodes_simple_escapes),
      CHECK_TEST(decodes_unicode_escapes_and_surrogate_pairs_to_utf8),
      CHECK_TEST(rejects_lone_surrogates),
      CHECK_TEST(keeps_raw_utf8_and_rejects_invalid_utf8),
      CHECK_TEST(rejects_control_characters_in_strings),
      CHECK_TEST(keeps_embedded_nul_in_strings),
      CHECK_TEST(enforces_depth_limit),
      CHECK_TEST(parses_integers_exactly_beyond_2_53),
      CHECK_TEST(detects_integer_overflow),
      CHECK_TEST(treats_fraction_and_exponent_as_non_integers),
      CHECK_TEST(parses_number_edge_cases),
      CHECK_TEST(rejects_invalid_numbers),
      CHECK_TEST(rejects_numbers_outside_double_range),
      CHECK_TEST(ignores_locale_decimal_point),
      CHECK_TEST(rejects_trailing_garbage),
      CHECK_TEST(accepts_surrounding_whitespace),
      CHECK_TEST(rejects_trailing_commas),
      CHECK_TEST(rejects_empty_and_whitespace_only_input),
      CHECK_TEST(rejects_malformed_structure),
      CHECK_TEST(keeps_duplicate_keys_in_order),
      CHECK_TEST(reports_byte_offset_of_error),
      CHECK_TEST(never_reads_past_len),
      CHECK_TEST(accessors_tolerate_null_and_wrong_types),
      CHECK_TEST(rejects_more_values_than_the_node_limit),
  };
  return check_run(tests, sizeof tests / sizeof tests[0]);
}

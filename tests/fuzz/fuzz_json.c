/* libFuzzer target for the JSON reader alone (runtime/lg_json.c): any input
 * either parses into a tree whose every node is readable and whose object
 * lookups find their own keys, or is refused with a one-line message that
 * names the byte. (fuzz_safetensors.c reaches the same reader through
 * safetensors headers.) */
#include <stdint.h>

#include "fuzz_check.h"
#include "lg_json.h"

static size_t walk(const lg_json *j, int depth) {
  size_t n = 1;
  REQUIRE(depth < 10000);
  if (j->type == LG_JSON_STRING)
    REQUIRE(j->str[j->str_len] == '\0');
  if (j->key)
    REQUIRE(j->key[j->key_len] == '\0');
  for (size_t i = 0; i < lg_json_len(j); i++) {
    const lg_json *c = lg_json_at(j, i);
    REQUIRE(c);
    if (j->type == LG_JSON_OBJECT && !memchr(c->key, '\0', c->key_len))
      REQUIRE(lg_json_get(j, c->key));
    n += walk(c, depth + 1);
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lg_json *root = NULL;
  char err[200];
  if (lg_json_parse((const char *)data, size, &root, err, sizeof err) == LG_OK) {
    walk(root, 0);
    lg_json_free(root);
  } else {
    REQUIRE(root == NULL && strstr(err, "at byte"));
    REQUIRE_ONE_LINE(err);
  }
  return 0;
}

/* Strict RFC 8259 parser in two passes over the same recursive-descent code:
 *   pass 1 (counting) validates the text and counts nodes, decoded string
 *          bytes and the number of children of every container (pre-order);
 *   pass 2 (building) allocates one block = nodes[n] + strings[m] and walks
 *          the text again, giving each container a contiguous run of
 *          children so lg_json_at is O(1).
 * Every error is found in pass 1; pass 2 cannot fail. */
#include "lg_json.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct lg_json_parser {
  const unsigned char *s;
  size_t len, pos;
  char *err;
  size_t errn;
  int building; /* 0: pass 1, 1: pass 2 */
  size_t n_nodes; /* pass 1: values seen */
  size_t n_str; /* pass 1: decoded string bytes incl. terminators */
  size_t *counts; /* children per container, in pre-order */
  size_t n_counts, cap_counts;
  size_t count_i; /* pass 2: next entry of counts */
  lg_json *nodes; /* pass 2: node array; nodes[0] is the root */
  size_t next_node;
  char *strbuf; /* pass 2: decoded strings */
  size_t str_used;
} lg_json_parser;

static lg_status json_fail_at(lg_json_parser *p, size_t at, const char *what) {
  return lg_fail(p->err, p->errn, LG_ERR_FORMAT, "%s at byte %zu", what, at);
}

static lg_status json_fail(lg_json_parser *p, const char *what) { return json_fail_at(p, p->pos, what); }

static void skip_ws(lg_json_parser *p) {
  while (p->pos < p->len) {
    unsigned char c = p->s[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
      break;
    p->pos++;
  }
}

/* Appends decoded bytes to the current string (pass 2) or counts them. */
static void emit(lg_json_parser *p, const void *bytes, size_t n) {
  if (p->building)
    memcpy(p->strbuf + p->str_used, bytes, n);
  p->str_used += n;
}

static int hex4(const unsigned char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = s[i], d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return 0;
    v = v << 4 | d;
  }
  *out = v;
  return 1;
}

static void emit_utf8(lg_json_parser *p, unsigned cp) {
  unsigned char b[4];
  size_t n;
  if (cp < 0x80) {
    b[0] = (unsigned char)cp;
    n = 1;
  } else if (cp < 0x800) {
    b[0] = (unsigned char)(0xC0 | cp >> 6);
    b[1] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (unsigned char)(0xE0 | cp >> 12);
    b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    b[2] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    b[0] = (unsigned char)(0xF0 | cp >> 18);
    b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    b[3] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  emit(p, b, n);
}

/* Length of the well-formed UTF-8 sequence at s[0..avail), or 0 (RFC 3629
 * table 3-7: no overlongs, no UTF-16 surrogates, nothing above U+10FFFF). */
static size_t utf8_seq_len(const unsigned char *s, size_t avail) {
  unsigned char c = s[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0)
      lo = 0xA0;
    if (c == 0xED)
      hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0)
      lo = 0x90;
    if (c == 0xF4)
      hi = 0x8F;
  } else
    return 0;
  if (avail < n)
    return 0;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return n;
}

/* At the opening quote. Decodes into the string buffer and NUL-terminates;
 * out and out_len are only written in pass 2. */
static lg_status parse_string(lg_json_parser *p, const char **out, size_t *out_len) {
  size_t start = p->pos++;
  size_t begin = p->str_used;
  for (;;) {
    if (p->pos >= p->len)
      return json_fail_at(p, start, "unterminated string starting");
    unsigned char c = p->s[p->pos];
    if (c == '"') {
      p->pos++;
      break;
    }
    if (c < 0x20)
      return json_fail(p, "unescaped control character in string");
    if (c < 0x80 && c != '\\') {
      emit(p, &c, 1);
      p->pos++;
      continue;
    }
    if (c >= 0x80) {
      size_t n = utf8_seq_len(p->s + p->pos, p->len - p->pos);
      if (n == 0)
        return json_fail(p, "invalid UTF-8 in string");
      emit(p, p->s + p->pos, n);
      p->pos += n;
      continue;
    }
    /* backslash escape */
    if (p->pos + 1 >= p->len)
      return json_fail(p, "unterminated escape in string");
    unsigned char e = p->s[p->pos + 1];
    const char *simple = NULL;
    switch (e) {
    case '"':
      simple = "\"";
      break;
    case '\\':
      simple = "\\";
      break;
    case '/':
      simple = "/";
      break;
    case 'b':
      simple = "\b";
      break;
    case 'f':
      simple = "\f";
      break;
    case 'n':
      simple = "\n";
      break;
    case 'r':
      simple = "\r";
      break;
    case 't':
      simple = "\t";
      break;
    case 'u':
      break;
    default:
      return json_fail(p, "invalid escape in string");
    }
    if (simple) {
      emit(p, simple, 1);
      p->pos += 2;
      continue;
    }
    unsigned cp, lo;
    if (p->len - p->pos < 6 || !hex4(p->s + p->pos + 2, &cp))
      return json_fail(p, "\\u escape needs 4 hex digits");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return json_fail(p, "unpaired low surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      /* UTF-16 pair: \uD83D\uDE00 is one code point above U+FFFF */
      const unsigned char *q = p->s + p->pos + 6;
      if (p->len - p->pos < 12 || q[0] != '\\' || q[1] != 'u' || !hex4(q + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return json_fail(p, "high surrogate in \\u escape not followed by a low surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      p->pos += 6;
    }
    emit_utf8(p, cp);
    p->pos += 6;
  }
  emit(p, "", 1);
  if (p->building) {
    *out = p->strbuf + begin;
    *out_len = p->str_used - begin - 1;
  }
  return LG_OK;
}

/* strtod in the C locale whatever the process locale is: the lexeme is
 * copied (it is not NUL-terminated in the text) and its '.' replaced by the
 * locale's radix character. Fails on overflow to infinity. */
static lg_status number_to_double(lg_json_parser *p, size_t start, size_t end, double *out) {
  char small[64];
  size_t n = end - start;
  char *buf = n < sizeof small ? small : malloc(n + 1);
  if (!buf)
    return lg_fail(p->err, p->errn, LG_ERR_NOMEM, "out of memory parsing JSON");
  memcpy(buf, p->s + start, n);
  buf[n] = '\0';
  const char *radix = localeconv()->decimal_point;
  if (radix && radix[0] && radix[0] != '.' && !radix[1]) {
    char *dot = strchr(buf, '.');
    if (dot)
      *dot = radix[0];
  }
  errno = 0;
  *out = strtod(buf, NULL);
  int overflow = errno == ERANGE && isinf(*out);
  if (buf != small)
    free(buf);
  return overflow ? json_fail_at(p, start, "number out of double range") : LG_OK;
}

/* number = [ "-" ] ( "0" / digit1-9 *digit ) [ "." 1*digit ] [ e [sign] 1*digit ] */
static lg_status parse_number(lg_json_parser *p, lg_json *node) {
  const unsigned char *s = p->s;
  size_t start = p->pos, i = p->pos, n = p->len;
  int neg = 0, integral = 1;
  if (i < n && s[i] == '-') {
    neg = 1;
    i++;
  }
  if (i >= n || s[i] < '0' || s[i] > '9')
    return json_fail_at(p, i, "expected a digit");
  size_t int_begin = i;
  if (s[i] == '0') {
    i++;
    if (i < n && s[i] >= '0' && s[i] <= '9')
      return json_fail_at(p, i, "leading zero in number");
  } else {
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++;
  }
  size_t int_end = i;
  if (i < n && s[i] == '.') {
    integral = 0;
    i++;
    if (i >= n || s[i] < '0' || s[i] > '9')
      return json_fail_at(p, i, "expected a digit after '.'");
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    integral = 0;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    if (i >= n || s[i] < '0' || s[i] > '9')
      return json_fail_at(p, i, "expected a digit in exponent");
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++;
  }
  double d = 0.0;
  lg_status st = number_to_double(p, start, i, &d);
  if (st != LG_OK)
    return st;
  p->pos = i;
  if (!p->building)
    return LG_OK;

  node->type = LG_JSON_NUMBER;
  node->number = d;
  if (integral) {
    /* exact magnitude, with overflow detection instead of going via double */
    uint64_t mag = 0;
    int fits = 1;
    for (size_t k = int_begin; k < int_end; k++) {
      unsigned digit = (unsigned)(s[k] - '0');
      if (mag > (UINT64_MAX - digit) / 10) {
        fits = 0;
        break;
      }
      mag = mag * 10 + digit;
    }
    if (fits && !neg) {
      node->is_uint = 1;
      node->u64 = mag;
      if (mag <= (uint64_t)INT64_MAX) {
        node->is_int = 1;
        node->i64 = (int64_t)mag;
      }
    } else if (fits && neg && mag <= (uint64_t)INT64_MAX + 1) {
      node->is_int = 1;
      node->i64 = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    }
  }
  return LG_OK;
}

static lg_status parse_literal(lg_json_parser *p, const char *word, size_t n) {
  if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
    return json_fail(p, "invalid literal (expected true, false or null)");
  p->pos += n;
  return LG_OK;
}

/* Pass 1: reserve a counts slot for the container starting now. */
static lg_status push_count(lg_json_parser *p, size_t *slot) {
  if (p->n_counts == p->cap_counts) {
    size_t cap = p->cap_counts ? p->cap_counts * 2 : 64;
    size_t *c = realloc(p->counts, cap * sizeof *c);
    if (!c)
      return lg_fail(p->err, p->errn, LG_ERR_NOMEM, "out of memory parsing JSON");
    p->counts = c;
    p->cap_counts = cap;
  }
  *slot = p->n_counts++;
  p->counts[*slot] = 0;
  return LG_OK;
}

static lg_status parse_value(lg_json_parser *p, lg_json *node, int depth);

/* At '[' or '{'. Object members carry their key in the child node. */
static lg_status parse_container(lg_json_parser *p, lg_json *node, int depth, int is_object) {
  char close = is_object ? '}' : ']';
  lg_status s;
  size_t slot = 0, count = 0;
  lg_json *items = NULL;
  if (depth >= LG_JSON_MAX_DEPTH)
    return json_fail(p, "nesting deeper than 64 levels");
  p->pos++;
  if (p->building) {
    size_t n = p->counts[p->count_i++];
    items = p->nodes + p->next_node;
    p->next_node += n;
    node->type = is_object ? LG_JSON_OBJECT : LG_JSON_ARRAY;
    node->items = n ? items : NULL;
    node->n_items = n;
  } else if ((s = push_count(p, &slot)) != LG_OK) {
    return s;
  }
  skip_ws(p);
  if (p->pos < p->len && p->s[p->pos] == close) {
    p->pos++;
    return LG_OK;
  }
  for (;;) {
    lg_json *child = p->building ? &items[count] : NULL;
    const char *key = NULL;
    size_t key_len = 0;
    if (is_object) {
      skip_ws(p);
      if (p->pos >= p->len || p->s[p->pos] != '"')
        return json_fail(p, "expected a string key");
      if ((s = parse_string(p, &key, &key_len)) != LG_OK)
        return s;
      skip_ws(p);
      if (p->pos >= p->len || p->s[p->pos] != ':')
        return json_fail(p, "expected ':' after key");
      p->pos++;
    }
    if ((s = parse_value(p, child, depth + 1)) != LG_OK)
      return s;
    if (child) {
      child->key = key;
      child->key_len = key_len;
    }
    count++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ',') {
      p->pos++;
      continue;
    }
    if (p->pos < p->len && p->s[p->pos] == close) {
      p->pos++;
      break;
    }
    return json_fail(p, is_object ? "expected ',' or '}' in object" : "expected ',' or ']' in array");
  }
  if (!p->building)
    p->counts[slot] = count;
  return LG_OK;
}

/* node is NULL in pass 1. */
static lg_status parse_value(lg_json_parser *p, lg_json *node, int depth) {
  skip_ws(p);
  if (!p->building && ++p->n_nodes > LG_JSON_MAX_NODES)
    return lg_fail(p->err, p->errn, LG_ERR_FORMAT, "more than %zu JSON values at byte %zu", LG_JSON_MAX_NODES, p->pos);
  if (node)
    memset(node, 0, sizeof *node);
  if (p->pos >= p->len)
    return json_fail(p, "unexpected end of input");
  switch (p->s[p->pos]) {
  case '{':
    return parse_container(p, node, depth, 1);
  case '[':
    return parse_container(p, node, depth, 0);
  case '"': {
    const char *str = NULL;
    size_t n = 0;
    lg_status s = parse_string(p, &str, &n);
    if (node) {
      node->type = LG_JSON_STRING;
      node->str = str;
      node->str_len = n;
    }
    return s;
  }
  case 't':
  case 'f': {
    int v = p->s[p->pos] == 't';
    if (node) {
      node->type = LG_JSON_BOOL;
      node->boolean = v;
    }
    return v ? parse_literal(p, "true", 4) : parse_literal(p, "false", 5);
  }
  case 'n':
    if (node)
      node->type = LG_JSON_NULL;
    return parse_literal(p, "null", 4);
  default:
    if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
      return parse_number(p, node);
    return json_fail(p, "unexpected character");
  }
}

lg_status lg_json_parse(const char *text, size_t len, lg_json **root, char *err, size_t errn) {
  lg_json_parser p;
  lg_status s;
  memset(&p, 0, sizeof p);
  *root = NULL;
  if (!text && len)
    return lg_fail(err, errn, LG_ERR_ARG, "NULL JSON text");
  p.s = (const unsigned char *)text;
  p.len = len;
  p.err = err;
  p.errn = errn;

  /* pass 1: validate and count */
  if ((s = parse_value(&p, NULL, 0)) != LG_OK)
    goto done;
  skip_ws(&p);
  if (p.pos != p.len) {
    s = json_fail(&p, "unexpected characters after the JSON value");
    goto done;
  }
  p.n_str = p.str_used;

  /* pass 2: fill one block; sizes are bounded by len so nothing overflows */
  size_t node_bytes = p.n_nodes * sizeof(lg_json);
  void *block = malloc(node_bytes + p.n_str);
  if (!block) {
    s = lg_fail(err, errn, LG_ERR_NOMEM, "out of memory for %zu JSON values", p.n_nodes);
    goto done;
  }
  p.building = 1;
  p.nodes = block;
  p.next_node = 1;
  p.strbuf = (char *)block + node_bytes;
  p.str_used = 0;
  p.pos = 0;
  s = parse_value(&p, p.nodes, 0);
  if (s == LG_OK)
    *root = p.nodes;
  else
    free(block); /* only a failed malloc for a long number lexeme gets here */
done:
  free(p.counts);
  return s;
}

void lg_json_free(lg_json *root) { free(root); }

const lg_json *lg_json_get(const lg_json *obj, const char *key) {
  if (!obj || obj->type != LG_JSON_OBJECT || !key)
    return NULL;
  size_t n = strlen(key);
  for (size_t i = 0; i < obj->n_items; i++) {
    const lg_json *m = &obj->items[i];
    if (m->key_len == n && memcmp(m->key, key, n) == 0)
      return m;
  }
  return NULL;
}

size_t lg_json_len(const lg_json *x) {
  return x && (x->type == LG_JSON_ARRAY || x->type == LG_JSON_OBJECT) ? x->n_items : 0;
}

const lg_json *lg_json_at(const lg_json *x, size_t i) { return i < lg_json_len(x) ? &x->items[i] : NULL; }

const char *lg_json_key_at(const lg_json *obj, size_t i) {
  return obj && obj->type == LG_JSON_OBJECT && i < obj->n_items ? obj->items[i].key : NULL;
}

int lg_json_int64(const lg_json *n, int64_t *out) {
  if (!n || n->type != LG_JSON_NUMBER || !n->is_int)
    return 0;
  *out = n->i64;
  return 1;
}

int lg_json_uint64(const lg_json *n, uint64_t *out) {
  if (!n || n->type != LG_JSON_NUMBER || !n->is_uint)
    return 0;
  *out = n->u64;
  return 1;
}

const char *lg_json_type_name(lg_json_type t) {
  switch (t) {
  case LG_JSON_NULL:
    return "null";
  case LG_JSON_BOOL:
    return "boolean";
  case LG_JSON_NUMBER:
    return "number";
  case LG_JSON_STRING:
    return "string";
  case LG_JSON_ARRAY:
    return "array";
  case LG_JSON_OBJECT:
    return "object";
  }
  return "unknown";
}

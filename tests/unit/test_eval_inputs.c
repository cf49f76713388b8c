/* Unit tests for what a classifier reads by a user's name and what an
 * accuracy gate counts: images, lists and folders that are not what they
 * claim (FIFOs, devices, directories, oversized files), the list's header
 * rule, NUL bytes and byte-order marks, the JSON report's escaping, and
 * outputs that are not finite numbers. Each test is named after the
 * behaviour it pins and prints what differs. A test that blocks in open()
 * is stopped by the alarm and reported. */
#define _DEFAULT_SOURCE /* mkdtemp, truncate */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lg_eval.h"
#include "lg_eval_set.h"
#include "lg_image.h"

static char root[] = "/tmp/lg_eval_inputs_XXXXXX";

static void blocked(int sig) {
  (void)sig;
  static const char msg[] = "    blocked for 10 s (open() of a FIFO waits for a writer)\n";
  if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
  }
  _exit(3);
}

/* Runs fn in a child stopped after 10 s: a test that blocks fails alone. */
static void isolated(void (*fn)(void)) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGALRM, blocked);
    alarm(10);
    fn();
    _exit(check_failures ? 1 : 0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the test's process ended with status %#x", status);
}

/* root/<name>, written with `len` bytes of `data` (len < 0: strlen). */
static const char *put(const char *name, const char *data, long len) {
  static char path[8][512];
  static int next;
  char *p = path[next++ % 8];
  snprintf(p, sizeof path[0], "%s/%s", root, name);
  FILE *f = fopen(p, "wb");
  if (f) {
    fwrite(data, 1, len < 0 ? strlen(data) : (size_t)len, f);
    fclose(f);
  }
  return p;
}

static const char *mkdirs(const char *name) {
  static char path[4][512];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, sizeof path[0], "%s/%s", root, name);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
  if (system(cmd) != 0)
    fprintf(stderr, "cannot %s\n", cmd);
  return p;
}

static const char *fifo(const char *name) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", root, name);
  mkfifo(path, 0600);
  return path;
}

/* a 2x1 binary PPM: the smallest image every decoder path reads */
static const char PPM[] = "P6 2 1 255\n\x10\x20\x30\x40\x50\x60";

/* ---- files that are not regular, or too large ----------------------------- */

static void image_that_is_a_fifo_is_refused_without_blocking_(void) {
  lg_image img;
  char err[512] = "";
  lg_status st = lg_image_load(fifo("pipe.png"), &img, err, sizeof err);
  EXPECT(
      st == LG_ERR_ARG && strstr(err, "pipe.png") && strstr(err, "not a regular file"),
      "status %s: '%s'",
      lg_status_name(st),
      err);
}
static void image_that_is_a_fifo_is_refused_without_blocking(void) {
  isolated(image_that_is_a_fifo_is_refused_without_blocking_);
}

static void devices_are_refused_as_not_regular_files(void) {
  const char *devices[] = {"/dev/zero", "/dev/null"};
  for (int i = 0; i < 2; i++) {
    lg_image img;
    char err[512] = "";
    lg_status st = lg_image_load(devices[i], &img, err, sizeof err);
    EXPECT(
        st == LG_ERR_ARG && strstr(err, devices[i]) && strstr(err, "not a regular file"),
        "%s: %s: '%s'",
        devices[i],
        lg_status_name(st),
        err);
  }
}

static void image_larger_than_the_limit_is_refused_before_reading(void) {
  /* sparse: 300 MiB that take no disk and, refused from fstat, no memory */
  const char *path = put("big.png", "\x89PNG\r\n\x1a\n", 8);
  if (truncate(path, 300L << 20) != 0)
    CHECK(0, "truncate %s", path);
  lg_image img;
  char err[512] = "";
  lg_status st = lg_image_load(path, &img, err, sizeof err);
  EXPECT(
      st == LG_ERR_UNSUPPORTED && strstr(err, "big.png") && strstr(err, "larger than 256 MiB"),
      "%s: '%s'",
      lg_status_name(st),
      err);
  unlink(path);
}

static void image_that_is_a_directory_says_so(void) {
  lg_image img;
  char err[512] = "";
  lg_status st = lg_image_load(mkdirs("adir.png"), &img, err, sizeof err);
  EXPECT(
      st == LG_ERR_ARG && strstr(err, "adir.png") && strstr(err, "is a directory"),
      "%s: '%s'",
      lg_status_name(st),
      err);
}

/* ---- the list layout ------------------------------------------------------ */

static lg_labels two_synsets(void) {
  static const char text[] = "n01440764\ttench\nn01443537\tgoldfish\n";
  lg_labels labels;
  char err[256];
  if (lg_labels_parse(text, sizeof text - 1, &labels, err, sizeof err) != LG_OK)
    fprintf(stderr, "labels: %s\n", err);
  return labels;
}

/* The list `text` (len bytes) as root/list.csv, read with two classes. */
static lg_status read_list(const char *text, long len, lg_eval_set *set, char *err, size_t errn) {
  lg_labels labels = two_synsets();
  lg_status st = lg_eval_set_from_list(put("list.csv", text, len), &labels, 2, set, err, errn);
  lg_labels_free(&labels);
  return st;
}

static void list_header_is_path_comma_label_literally(void) {
  lg_eval_set set;
  char err[512] = "";
  lg_status st = read_list("path,label\na.png,n01440764\nb.png,1\n", -1, &set, err, sizeof err);
  EXPECT(st == LG_OK && set.n == 2, "the literal header: %s, %d images: '%s'", lg_status_name(st), set.n, err);
  lg_eval_set_free(&set);
  /* a first line whose label is a typo, out of range, or another header: refused, naming line 1 */
  const char *first_lines[] = {"a.png,n0144076\n", "a.png,2\n", "file,class\n", "path, label\n"};
  for (int i = 0; i < 4; i++) {
    char text[256];
    snprintf(text, sizeof text, "%sb.png,1\nc.png,0\n", first_lines[i]);
    err[0] = '\0';
    st = read_list(text, -1, &set, err, sizeof err);
    EXPECT(
        st == LG_ERR_ARG && strstr(err, "line 1") && strstr(err, "path,label"),
        "first line '%.*s': %s, %d images: '%s'",
        (int)strcspn(first_lines[i], "\n"),
        first_lines[i],
        lg_status_name(st),
        set.n,
        err);
    if (st == LG_OK)
      lg_eval_set_free(&set);
  }
}

static void list_with_a_nul_byte_is_refused_naming_the_line(void) {
  lg_eval_set set;
  char err[512] = "";
  static const char text[] = "a.png,0\nb.png,1\0c.png,1\nd.png,0\n";
  lg_status st = read_list(text, sizeof text - 1, &set, err, sizeof err);
  EXPECT(
      st == LG_ERR_FORMAT && strstr(err, "line 2") && strstr(err, "NUL"),
      "%s, %d images: '%s'",
      lg_status_name(st),
      st == LG_OK ? set.n : 0,
      err);
  if (st == LG_OK)
    lg_eval_set_free(&set);
}

static void list_byte_order_mark_is_not_part_of_the_first_path(void) {
  lg_eval_set set;
  char err[512] = "";
  lg_status st = read_list(
      "\xef\xbb\xbf"
      "a.png,0\nb.png,1\n",
      -1,
      &set,
      err,
      sizeof err);
  CHECK(st == LG_OK && set.n == 2, "%s: '%s'", lg_status_name(st), err);
  char want[600];
  snprintf(want, sizeof want, "%s/a.png", root);
  EXPECT(strcmp(set.path[0], want) == 0, "first path '%s', want '%s'", set.path[0], want);
  lg_eval_set_free(&set);
  st = read_list("\xef\xbb\xbfpath,label\na.png,0\n", -1, &set, err, sizeof err);
  EXPECT(st == LG_OK && set.n == 1, "a header after the mark: %s: '%s'", lg_status_name(st), err);
  if (st == LG_OK)
    lg_eval_set_free(&set);
}

static void list_that_is_a_directory_or_fifo_says_so_(void) {
  lg_labels labels = two_synsets();
  lg_eval_set set;
  char err[512] = "";
  lg_status st = lg_eval_set_from_list(mkdirs("listdir"), &labels, 2, &set, err, sizeof err);
  EXPECT(st == LG_ERR_ARG && strstr(err, "listdir is a directory"), "%s: '%s'", lg_status_name(st), err);
  err[0] = '\0';
  st = lg_eval_set_from_list(fifo("list.fifo"), &labels, 2, &set, err, sizeof err);
  EXPECT(
      st == LG_ERR_ARG && strstr(err, "list.fifo") && strstr(err, "not a regular file"),
      "%s: '%s'",
      lg_status_name(st),
      err);
  lg_labels_free(&labels);
}
static void list_that_is_a_directory_or_fifo_says_so(void) { isolated(list_that_is_a_directory_or_fifo_says_so_); }

/* ---- the ImageFolder layout ----------------------------------------------- */

static void folder_skips_bmp_files_it_cannot_decode(void) {
  mkdirs("bmpset/0");
  put("bmpset/0/a.ppm", PPM, sizeof PPM - 1);
  put("bmpset/0/b.bmp", "BM", 2);
  lg_labels labels = two_synsets();
  lg_eval_set set;
  char err[512] = "";
  char dir[600];
  snprintf(dir, sizeof dir, "%s/bmpset", root);
  lg_status st = lg_eval_set_from_dir(dir, &labels, 2, &set, err, sizeof err);
  EXPECT(
      st == LG_OK && set.n == 1 && set.skipped == 1,
      "%s: %d images, %d skipped: '%s'",
      lg_status_name(st),
      st == LG_OK ? set.n : 0,
      st == LG_OK ? set.skipped : 0,
      err);
  if (st == LG_OK)
    lg_eval_set_free(&set);
  /* only BMPs: the message lists what is read, without BMP */
  mkdirs("onlybmp/1");
  put("onlybmp/1/b.bmp", "BM", 2);
  snprintf(dir, sizeof dir, "%s/onlybmp", root);
  st = lg_eval_set_from_dir(dir, &labels, 2, &set, err, sizeof err);
  EXPECT(
      st == LG_ERR_ARG && strstr(err, "holds no images") && !strstr(err, "BMP"),
      "%s: '%s'",
      lg_status_name(st),
      err);
  lg_labels_free(&labels);
}

/* ---- lg_eval_run with a stand-in model ------------------------------------ */

typedef struct {
  float value; /* every output but the first, which is 1 */
} fake_model;

static int fake_forward(void *ctx, const float *in, float *out) {
  (void)in;
  out[0] = 1.0f;
  out[1] = ((fake_model *)ctx)->value;
  return 0;
}

static lg_status run_eval(const char *dir, const char *report, float value, lg_eval_result *r, char *err, size_t errn) {
  lg_labels labels = two_synsets();
  fake_model fm = {value};
  lg_eval_model m = {
      .variant = "fake",
      .target = "test",
      .weights = "fake.bin",
      .batch = 1,
      .in_chans = 3,
      .out_dim = 2,
      .pre = {.out_h = 2, .out_w = 2, .crop_pct = 1.0f, .interp = LG_INTERP_BILINEAR, .std = {1, 1, 1}},
      .labels = &labels,
      .published_acc1 = -1,
      .published_acc5 = -1,
      .published_note = "none",
      .threads = 1,
      .forward = fake_forward,
      .ctx = &fm};
  lg_eval_options o = {.dir = dir, .report = report, .min_top1 = -1, .min_top5 = -1, .decoders = 1};
  FILE *quiet = fopen("/dev/null", "w");
  lg_status st = lg_eval_run(&m, &o, quiet, r, err, errn);
  fclose(quiet);
  lg_labels_free(&labels);
  return st;
}

static void folder_with_a_fifo_image_is_refused_without_blocking_(void) {
  mkdirs("fifoset/0");
  put("fifoset/0/a.ppm", PPM, sizeof PPM - 1);
  fifo("fifoset/0/b.png");
  char dir[600], err[1024] = "";
  snprintf(dir, sizeof dir, "%s/fifoset", root);
  lg_eval_result r;
  lg_status st = run_eval(dir, NULL, 0.0f, &r, err, sizeof err);
  EXPECT(
      st == LG_ERR_ARG && strstr(err, "b.png") && strstr(err, "not a regular file"),
      "%s: '%s'",
      lg_status_name(st),
      err);
}
static void folder_with_a_fifo_image_is_refused_without_blocking(void) {
  isolated(folder_with_a_fifo_image_is_refused_without_blocking_);
}

/* Length of the valid UTF-8 prefix of s (strict: no overlong forms, no surrogates). */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i],
             len = c < 0x80  ? 1
        : (c & 0xe0) == 0xc0 ? 2
        : (c & 0xf0) == 0xe0 ? 3
        : (c & 0xf8) == 0xf0 ? 4
                             : 0;
    if (!len || i + len > n || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
      return i;
    for (unsigned k = 1; k < len; k++)
      if ((s[i + k] & 0xc0) != 0x80)
        return i;
    if ((len == 3 && c == 0xe0 && s[i + 1] < 0xa0) || (len == 3 && c == 0xed && s[i + 1] >= 0xa0) ||
        (len == 4 && c == 0xf0 && s[i + 1] < 0x90) || (len == 4 && c == 0xf4 && s[i + 1] >= 0x90))
      return i;
    i += len;
  }
  return n;
}

static void report_escapes_path_bytes_that_are_not_utf8(void) {
  mkdirs("utf8set/0");
  put("utf8set/0/caf\xc3\xa9-\xff\xfe.ppm", PPM, sizeof PPM - 1);
  char dir[600], report[600], err[1024] = "";
  snprintf(dir, sizeof dir, "%s/utf8set", root);
  snprintf(report, sizeof report, "%s/report.json", root);
  lg_eval_result r;
  lg_status st = run_eval(dir, report, 0.0f, &r, err, sizeof err);
  CHECK(st == LG_OK, "%s: '%s'", lg_status_name(st), err);
  FILE *f = fopen(report, "rb");
  CHECK(f, "no report %s", report);
  static unsigned char text[1 << 16];
  size_t n = fread(text, 1, sizeof text, f);
  fclose(f);
  size_t valid = utf8_valid_prefix(text, n);
  EXPECT(valid == n, "the report is not UTF-8 from byte %zu: ...%.40s", valid, (const char *)text + valid);
  /* valid UTF-8 is kept; each other byte is Python's surrogateescape (os.fsencode gives it back) */
  EXPECT(
      strstr((const char *)text, "caf\xc3\xa9-\\udcff\\udcfe.ppm"),
      "the path is not escaped as expected: %.*s",
      (int)n,
      (const char *)text);
}

static void non_finite_outputs_are_an_error_naming_the_weights(void) {
  mkdirs("nanset/1");
  put("nanset/1/a.ppm", PPM, sizeof PPM - 1);
  char dir[600], report[600], err[1024] = "";
  snprintf(dir, sizeof dir, "%s/nanset", root);
  snprintf(report, sizeof report, "%s/nan.json", root);
  lg_eval_result r;
  /* NaN would rank last and the image count as a miss; +Inf would count as a hit */
  const float bad[] = {NAN, INFINITY};
  for (int i = 0; i < 2; i++) {
    err[0] = '\0';
    lg_status st = run_eval(dir, report, bad[i], &r, err, sizeof err);
    EXPECT(
        st == LG_ERR_FORMAT && strstr(err, "fake.bin") && strstr(err, "a.ppm") && strstr(err, "not finite"),
        "output %g: %s: '%s'",
        (double)bad[i],
        lg_status_name(st),
        err);
    EXPECT(access(report, F_OK) != 0, "a report was written for output %g", (double)bad[i]);
    unlink(report);
  }
}

int main(void) {
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 1;
  }
  static const check_test tests[] = {
      CHECK_TEST(image_that_is_a_fifo_is_refused_without_blocking),
      CHECK_TEST(devices_are_refused_as_not_regular_files),
      CHECK_TEST(image_larger_than_the_limit_is_refused_before_reading),
      CHECK_TEST(image_that_is_a_directory_says_so),
      CHECK_TEST(list_header_is_path_comma_label_literally),
      CHECK_TEST(list_with_a_nul_byte_is_refused_naming_the_line),
      CHECK_TEST(list_byte_order_mark_is_not_part_of_the_first_path),
      CHECK_TEST(list_that_is_a_directory_or_fifo_says_so),
      CHECK_TEST(folder_skips_bmp_files_it_cannot_decode),
      CHECK_TEST(folder_with_a_fifo_image_is_refused_without_blocking),
      CHECK_TEST(report_escapes_path_bytes_that_are_not_utf8),
      CHECK_TEST(non_finite_outputs_are_an_error_naming_the_weights),
  };
  int rc = check_run(tests, sizeof tests / sizeof tests[0]);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  if (system(cmd) != 0)
    fprintf(stderr, "cannot %s\n", cmd);
  return rc;
}

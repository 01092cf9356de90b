/* Unit test of tl_results: raw values round-trip exactly through
 * results.json, non-finite values become null, the bytes depend on the
 * content only, TSV files hold what was given, merges refuse conflicts, and
 * failures leave no file behind. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <dirent.h>
#include <float.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_test.h>

#include "tl_error.h"
#include "tl_results.h"
#include "tl_testing.h"

static char scratch[] = "/tmp/tl_test_results.XXXXXX";

static const char *in_scratch(const char *name) { return tl_testing_path(scratch, name); }

static char *slurp(const char *path) { return tl_testing_read(path); }

static void spit(const char *path, const char *text) { tl_testing_write(path, text, strlen(text)); }

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Number of entries of a folder, "." and ".." excluded. */
static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void test_round_trip(void) {
  /* Values whose shortest decimal form needs all 17 digits, a subnormal, a
   * negative zero, extremes. */
  const double values[] = {2.385, 0.1, 1.234e-05, 1.0 + DBL_EPSILON, -0.0, 1e300,
                           DBL_MIN / 3.0, -DBL_MAX, 3.14159265358979311599796346854,
                           6.02214076e23};
  const size_t n = sizeof values / sizeof values[0];
  tl_results *r = tl_results_alloc("99-test");
  char key[32];
  int ok = 1;
  for (size_t i = 0; i < n; i++) {
    snprintf(key, sizeof key, "v.k%zu", i);
    ok &= tl_results_set(r, key, values[i], "%.3g") == TL_SUCCESS;
  }
  gsl_test(!ok, "set stores ten doubles");
  gsl_test(tl_results_write(r, in_scratch("rt.json")), "write results.json");
  tl_results *back = NULL;
  gsl_test(tl_results_read(in_scratch("rt.json"), &back), "read results.json back");
  gsl_test_str(tl_results_chapter(back), "99-test", "chapter slug read back");
  gsl_test_int((int)tl_results_count(back), (int)n, "all values read back");
  for (size_t i = 0; i < n; i++) {
    tl_results_entry e;
    snprintf(key, sizeof key, "v.k%zu", i);
    int found = tl_results_lookup(back, key, &e);
    gsl_test(!found || e.type != TL_RESULTS_REAL || !same_bits(e.value, values[i]),
             "value %.17g round-trips bit for bit", values[i]);
  }
  tl_results_entry e;
  gsl_test(tl_results_lookup(back, "v.absent", &e) != 0 || e.type != TL_RESULTS_MISSING,
           "lookup of an absent key says missing");
  char *text = slurp(in_scratch("rt.json"));
  gsl_test(!strstr(text, "\"value\": 2.3849999999999998"), "raw value is written %%.17g");
  gsl_test(!strstr(text, "\"value\": -0.0"), "negative zero keeps its sign");
  free(text);
  tl_results_free(back);
  tl_results_free(r);
}

static void test_nonfinite(void) {
  tl_results *r = tl_results_alloc("99-test");
  tl_results_set(r, "x.nan", NAN, "%.3g");
  tl_results_set(r, "x.inf", INFINITY, "%.3g");
  tl_results_set_sci(r, "x.minf", -INFINITY, 3);
  tl_results_write(r, in_scratch("nan.json"));
  char *text = slurp(in_scratch("nan.json"));
  gsl_test(!strstr(text, "\"x.nan\": {\n   \"display\": \"NaN\",\n   \"latex\": "
                         "\"$\\\\mathrm{NaN}$\",\n   \"value\": null\n  }"),
           "NaN is written as null with display NaN");
  gsl_test(strstr(text, "nan\n") || strstr(text, "NaN,") || strstr(text, ": nan"),
           "no bare NaN token in the JSON");
  free(text);
  tl_results *back = NULL;
  tl_results_read(in_scratch("nan.json"), &back);
  tl_results_entry e;
  tl_results_lookup(back, "x.nan", &e);
  gsl_test(!isnan(e.value), "null with display NaN reads as NaN");
  gsl_test_str(e.display, "NaN", "display of NaN");
  tl_results_lookup(back, "x.inf", &e);
  gsl_test(!(isinf(e.value) && e.value > 0), "null with display inf reads as +inf");
  gsl_test_str(e.latex, "$\\infty$", "latex of +inf");
  tl_results_lookup(back, "x.minf", &e);
  gsl_test(!(isinf(e.value) && e.value < 0), "null with display -inf reads as -inf");
  tl_results_free(back);
  tl_results_free(r);
}

static void test_display(void) {
  tl_results *r = tl_results_alloc("99-test");
  tl_results_entry e;
  tl_results_set(r, "d.g", 1.234e-05, "%.3g");
  tl_results_lookup(r, "d.g", &e);
  gsl_test_str(e.display, "1.23e-05", "display of %%.3g");
  gsl_test_str(e.latex, "$1.23\\times 10^{-5}$", "latex of %%.3g rewrites the exponent");
  tl_results_set(r, "d.E", -2.5e10, "%.2E");
  tl_results_lookup(r, "d.E", &e);
  gsl_test_str(e.latex, "$-2.50\\times 10^{10}$", "latex of %%.2E drops '+' and zeros");
  tl_results_set(r, "d.f", 0.482, "%.3f");
  tl_results_lookup(r, "d.f", &e);
  gsl_test_str(e.latex, "$0.482$", "latex of a plain decimal");
  tl_results_set(r, "d.pct", 12.5, "%.1f%%");
  tl_results_lookup(r, "d.pct", &e);
  gsl_test_str(e.display, "12.5%", "display with a literal percent");
  gsl_test_str(e.latex, "$12.5\\%$", "latex escapes the percent");
  tl_results_set(r, "d.tex", 0.25, "%.2f_#&$");
  tl_results_lookup(r, "d.tex", &e);
  gsl_test_str(e.latex, "$0.25\\_\\#\\&\\$$", "latex escapes TeX specials");
  tl_results_set_sci(r, "d.sci", 1.234e-05, 3);
  tl_results_lookup(r, "d.sci", &e);
  gsl_test_str(e.display, "1.23e-5", "set_sci display is compact");
  gsl_test_str(e.latex, "$1.23\\times 10^{-5}$", "set_sci latex");
  gsl_test(!same_bits(e.value, 1.234e-05), "set_sci keeps the raw value");
  tl_results_set_sci(r, "d.sci0", 2.3851, 3);
  tl_results_lookup(r, "d.sci0", &e);
  gsl_test_str(e.display, "2.39", "set_sci drops a zero exponent");
  tl_results_set_int(r, "d.int", 123456789012LL);
  tl_results_lookup(r, "d.int", &e);
  gsl_test(e.type != TL_RESULTS_INTEGER || e.value != 123456789012.0, "integer stored");
  gsl_test_str(e.latex, "$123456789012$", "integer latex");
  tl_results_set_bool(r, "d.bool", 1);
  tl_results_lookup(r, "d.bool", &e);
  gsl_test(e.type != TL_RESULTS_BOOL || e.value != 1.0, "boolean stored as 1");
  tl_results_set_string(r, "d.str", "Haswell");
  tl_results_lookup(r, "d.str", &e);
  gsl_test(e.type != TL_RESULTS_STRING || !isnan(e.value), "string is not a number");
  gsl_test_str(e.text, "Haswell", "string stored");
  tl_results_set(r, "d.f", 0.5, "%.1f");
  tl_results_lookup(r, "d.f", &e);
  gsl_test(e.value != 0.5, "setting a key again replaces it");
  gsl_test_int(tl_results_set(r, "d.bad", 1.5, "%d"), GSL_EINVAL, "format %%d is refused");
  gsl_test_int(tl_results_set(r, "d.bad", 1.5, "%g %g"), GSL_EINVAL, "two conversions refused");
  gsl_test_int(tl_results_set(r, "d.bad", 1.5, "%s"), GSL_EINVAL, "format %%s is refused");
  gsl_test_int(tl_results_set(r, "d.bad", 1.5, "%*g"), GSL_EINVAL, "format %%*g is refused");
  gsl_test_int(tl_results_set(r, "bad key", 1.5, "%g"), GSL_EINVAL, "key with a space refused");
  gsl_test_int(tl_results_set(r, "", 1.5, "%g"), GSL_EINVAL, "empty key refused");
  gsl_test_int(tl_results_set_sci(r, "d.bad", 1.5, 0), GSL_EINVAL, "0 digits refused");
  gsl_test_int(tl_results_set_string(r, "d.utf", "\xff\xfe"), GSL_EINVAL,
               "invalid UTF-8 refused");
  gsl_test(tl_results_lookup(r, "d.bad", &e), "refused values are not stored");
  tl_results_free(r);
  tl_results_free(NULL); /* must be a no-op */
}

/* Same content, built in a different order, gives the same bytes. */
static tl_results *make_ordered(int reverse) {
  tl_results *r = tl_results_alloc("99-test");
  const char *keys[] = {"z.last", "a.first", "m.middle", "b_2", "b.1"};
  const double v[] = {0.25, 2.385, -7.125e-3, 1e-300, 42.0};
  for (int k = 0; k < 5; k++) {
    int i = reverse ? 4 - k : k;
    tl_results_set(r, keys[i], v[i], "%.4g");
  }
  if (reverse) {
    tl_results_add_file(r, "b.tsv", "second", "x\ty");
    tl_results_add_file(r, "a.tsv", "first", "x, y, z");
    tl_results_set_param(r, "n", "10", 1);
    tl_results_set_param(r, "eta", "0.05", 0);
  } else {
    tl_results_set_param(r, "eta", "0.05", 0);
    tl_results_set_param(r, "n", "10", 1);
    tl_results_add_file(r, "a.tsv", "first", "x, y, z");
    tl_results_add_file(r, "b.tsv", "second", "x\ty");
  }
  return r;
}

static void test_deterministic(void) {
  tl_results *a = make_ordered(0), *b = make_ordered(1);
  tl_results_write(a, in_scratch("det1.json"));
  tl_results_write(a, in_scratch("det2.json"));
  tl_results_write(b, in_scratch("det3.json"));
  char *t1 = slurp(in_scratch("det1.json"));
  char *t2 = slurp(in_scratch("det2.json"));
  char *t3 = slurp(in_scratch("det3.json"));
  gsl_test(strcmp(t1, t2) != 0, "writing twice gives the same bytes");
  gsl_test(strcmp(t1, t3) != 0, "insertion order does not change the bytes");
  gsl_test(!(strstr(t1, "\"a.first\"") < strstr(t1, "\"b.1\"") &&
             strstr(t1, "\"b.1\"") < strstr(t1, "\"b_2\"") &&
             strstr(t1, "\"m.middle\"") < strstr(t1, "\"z.last\"")),
           "value keys are sorted");
  gsl_test(!(strstr(t1, "\"a.tsv\"") < strstr(t1, "\"b.tsv\"")), "files are sorted by path");
  gsl_test(!strstr(t1, "\"columns\": [\n    \"x\",\n    \"y\",\n    \"z\"\n   ]"),
           "columns split into names");
  gsl_test(!strstr(t1, "\"eta\": {\n   \"default\": false,\n   \"value\": \"0.05\""),
           "override recorded with default false");
  gsl_test(t1[0] != '{' || t1[strlen(t1) - 1] != '\n' || t1[1] != '\n',
           "one-space indented object ending in a newline");
  gsl_test(!strstr(t1, "\n \"chapter\": \"99-test\",\n \"files\": ["), "top-level layout");
  free(t1);
  free(t2);
  free(t3);
  tl_results *back = NULL;
  tl_results_read(in_scratch("det1.json"), &back);
  tl_results_write(back, in_scratch("det4.json"));
  t1 = slurp(in_scratch("det1.json"));
  t2 = slurp(in_scratch("det4.json"));
  gsl_test(strcmp(t1, t2) != 0, "read then write reproduces the file");
  free(t1);
  free(t2);
  gsl_test_int(tl_results_add_file(a, "../x.tsv", "escape", NULL), GSL_EINVAL,
               "file path with .. refused");
  gsl_test_int(tl_results_add_file(a, "/tmp/x.tsv", "absolute", NULL), GSL_EINVAL,
               "absolute file path refused");
  gsl_test_int(tl_results_add_file(a, "x.tsv", "bad", "x,,y"), GSL_EINVAL,
               "empty column name refused");
  tl_results_free(back);
  tl_results_free(a);
  tl_results_free(b);
}

static void test_tsv(void) {
  const double x[] = {0.5, 2.385, -1e-300};
  const double y[] = {0.1, NAN, -INFINITY};
  const double *cols[] = {x, y};
  const char *names[] = {"x", "y"};
  gsl_test(tl_tsv_write_columns(in_scratch("c.tsv"), 2, names, 3, cols), "write columns");
  char *t = slurp(in_scratch("c.tsv"));
  gsl_test_str(t, "x\ty\n0.5\t0.10000000000000001\n2.3849999999999998\tnan\n-1e-300\t-inf\n",
               "columns TSV: header, %%.17g, nan and -inf");
  free(t);
  const long index[] = {10, 20, 30};
  tl_tsv_write_indexed(in_scratch("i.tsv"), "seed", index, 1, names, 3, cols);
  t = slurp(in_scratch("i.tsv"));
  gsl_test_str(t, "seed\tx\n10\t0.5\n20\t2.3849999999999998\n30\t-1e-300\n",
               "indexed TSV");
  free(t);
  tl_tsv_write_indexed(in_scratch("i0.tsv"), "k", NULL, 1, names + 1, 2, cols + 1);
  t = slurp(in_scratch("i0.tsv"));
  gsl_test_str(t, "k\ty\n0\t0.10000000000000001\n1\tnan\n", "indexed TSV, default index");
  free(t);
  const char *labels[] = {"relu", "tanh", "gelu"};
  tl_tsv_write_labeled(in_scratch("l.tsv"), "activation", labels, 1, names, 3, cols);
  t = slurp(in_scratch("l.tsv"));
  gsl_test_str(t, "activation\tx\nrelu\t0.5\ntanh\t2.3849999999999998\ngelu\t-1e-300\n",
               "labeled TSV");
  free(t);
  const char *bad_names[] = {"x", "y\tz"};
  gsl_test_int(tl_tsv_write_columns(in_scratch("bad.tsv"), 2, bad_names, 3, cols), GSL_EINVAL,
               "column name with a tab refused");
  gsl_test(file_exists(in_scratch("bad.tsv")), "refused TSV leaves no file");

  gsl_matrix *w1 = gsl_matrix_alloc(2, 3);
  for (size_t i = 0; i < 2; i++)
    for (size_t j = 0; j < 3; j++)
      gsl_matrix_set(w1, i, j, 0.125 * (double)(3 * i + j) - 0.3);
  gsl_vector *b1 = gsl_vector_alloc(2);
  gsl_vector_set(b1, 0, 2.385);
  gsl_vector_set(b1, 1, -0.75);
  /* A strided view: every other element of a longer vector. */
  double w2data[] = {1.5, 99.0, -2.5, 99.0};
  gsl_vector_view w2 = gsl_vector_view_array_with_stride(w2data, 2, 2);
  tl_tsv_block blocks[] = {tl_tsv_block_matrix("W1", w1), tl_tsv_block_vector("b1", b1),
                           tl_tsv_block_vector("W2", &w2.vector)};
  gsl_test(tl_tsv_write_matrix_blocks(in_scratch("net.tsv"), 3, blocks), "write network blocks");
  t = slurp(in_scratch("net.tsv"));
  gsl_test_str(t,
               "block\trow\tcol\tvalue\n"
               "W1\t0\t0\t-0.29999999999999999\nW1\t0\t1\t-0.17499999999999999\n"
               "W1\t0\t2\t-0.049999999999999989\nW1\t1\t0\t0.075000000000000011\n"
               "W1\t1\t1\t0.20000000000000001\nW1\t1\t2\t0.32500000000000001\n"
               "b1\t0\t0\t2.3849999999999998\nb1\t1\t0\t-0.75\n"
               "W2\t0\t0\t1.5\nW2\t1\t0\t-2.5\n",
               "network TSV in block,row,col,value long format, 0-based, strides honoured");
  free(t);
  gsl_matrix_free(w1);
  gsl_vector_free(b1);
}

static void test_merge(void) {
  tl_results *a = tl_results_alloc("99-test"), *b = tl_results_alloc("99-test");
  tl_results_set(a, "shard.0", 2.385, "%.3g");
  tl_results_set(a, "common", 0.5, "%.3g");
  tl_results_set(b, "shard.1", -4.5e-7, "%.3g");
  tl_results_set(b, "common", 0.5, "%.3g");
  tl_results_add_file(b, "s1.tsv", "shard 1 series", "x");
  gsl_test(tl_results_merge(a, b), "merge of agreeing shards");
  gsl_test_int((int)tl_results_count(a), 3, "merge is the union of values");
  tl_results_entry e;
  gsl_test(!tl_results_lookup(a, "shard.1", &e) || e.value != -4.5e-7, "merged value present");
  tl_results *c = tl_results_alloc("99-test");
  tl_results_set(c, "shard.2", 1.0, "%.3g");
  tl_results_set(c, "common", 0.5000001, "%.3g"); /* same display, other raw value */
  tl_error_clear();
  gsl_test_int(tl_results_merge(a, c), GSL_EINVAL, "conflicting value refused");
  gsl_test(!strstr(tl_error_message(), "'common'"), "conflict message names the key");
  gsl_test(tl_results_lookup(a, "shard.2", &e), "a refused merge changes nothing");
  tl_results *d = tl_results_alloc("98-other");
  gsl_test_int(tl_results_merge(a, d), GSL_EINVAL, "merge across chapters refused");
  tl_results_free(a);
  tl_results_free(b);
  tl_results_free(c);
  tl_results_free(d);
}

static void test_failures(void) {
  tl_results *r = tl_results_alloc("99-test");
  tl_results_set(r, "x", 2.385, "%.3g");
  gsl_test_int(tl_results_write(r, in_scratch("no/such/dir/results.json")), TL_EIO,
               "write into a missing folder is TL_EIO");
  gsl_test(file_exists(in_scratch("no")), "failed write creates nothing");
  mkdir(in_scratch("blocked"), 0777);
  int before = count_entries(scratch);
  gsl_test_int(tl_results_write(r, in_scratch("blocked")), TL_EIO,
               "write onto a folder is TL_EIO");
  gsl_test_int(count_entries(scratch), before, "failed rename leaves no temporary behind");
  tl_results_free(r);

  tl_results *back = (tl_results *)1;
  gsl_test_int(tl_results_read(in_scratch("absent.json"), &back), TL_EIO,
               "reading a missing file is TL_EIO");
  gsl_test(back != NULL, "failed read gives NULL");
  spit(in_scratch("bad.json"), "{\n \"chapter\": \"x\",\n \"values\": {,}\n}\n");
  tl_error_clear();
  gsl_test_int(tl_results_read(in_scratch("bad.json"), &back), TL_EFORMAT,
               "malformed JSON is TL_EFORMAT");
  char where[600];
  snprintf(where, sizeof where, "%s:3:", in_scratch("bad.json"));
  gsl_test(!strstr(tl_error_message(), where), "message names file and line: %s",
           tl_error_message());
  spit(in_scratch("dup.json"), "{\"chapter\": \"x\", \"chapter\": \"y\", \"values\": {}, "
                               "\"params\": {}, \"files\": []}\n");
  gsl_test_int(tl_results_read(in_scratch("dup.json"), &back), TL_EFORMAT,
               "duplicate JSON key is TL_EFORMAT");
  spit(in_scratch("layout.json"), "{\"chapter\": \"x\", \"values\": {\"k\": 1.5}, "
                                  "\"params\": {}, \"files\": []}\n");
  tl_error_clear();
  gsl_test_int(tl_results_read(in_scratch("layout.json"), &back), TL_EFORMAT,
               "value that is not an entry object is TL_EFORMAT");
  gsl_test(!strstr(tl_error_message(), "'k'"), "layout message names the key");
  spit(in_scratch("array.json"), "[1, 2]\n");
  gsl_test_int(tl_results_read(in_scratch("array.json"), &back), TL_EFORMAT,
               "a JSON array is TL_EFORMAT");
  spit(in_scratch("empty.json"), "");
  gsl_test_int(tl_results_read(in_scratch("empty.json"), &back), TL_EFORMAT,
               "an empty file is TL_EFORMAT");
}

int main(void) {
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 1;
  }
  test_round_trip();
  test_nonfinite();
  test_display();
  test_deterministic();
  test_tsv();
  test_merge();
  test_failures();
  nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
  return gsl_test_summary();
}

/* Unit test of tl_prov: SHA-256 against the FIPS 180-2 test vectors, the
 * bound BLAS is OpenBLAS, and provenance.json holds what was recorded (and
 * no host name). */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, gethostname */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_test.h>
#include <gsl/gsl_version.h>
#include <jansson.h>

#include "tl_error.h"
#include "tl_linalg.h"
#include "tl_prov.h"
#include "tl_testing.h"

static char scratch[] = "/tmp/tl_test_prov.XXXXXX";

static const char *in_scratch(const char *name) { return tl_testing_path(scratch, name); }

static void spit(const char *path, const char *text, size_t n) { tl_testing_write(path, text, n); }

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static const char *get_string(json_t *root, const char *object, const char *key) {
  json_t *o = object ? json_object_get(root, object) : root;
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "(absent)";
}

static void test_sha256(void) {
  char hex[65];
  spit(in_scratch("abc"), "abc", 3);
  gsl_test(tl_sha256_file(in_scratch("abc"), hex), "sha256 of a file");
  gsl_test_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
               "sha256(\"abc\") (FIPS 180-2)");
  spit(in_scratch("empty"), "", 0);
  tl_sha256_file(in_scratch("empty"), hex);
  gsl_test_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "sha256 of the empty file");
  /* One million 'a': many read chunks, and a length that is not a multiple
   * of the chunk size. */
  size_t n = 1000000;
  char *a = malloc(n);
  memset(a, 'a', n);
  spit(in_scratch("million"), a, n);
  free(a);
  tl_sha256_file(in_scratch("million"), hex);
  gsl_test_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
               "sha256 of one million 'a' (FIPS 180-2)");
  gsl_test_int(tl_sha256_file(in_scratch("absent"), hex), TL_EIO, "missing file is TL_EIO");
}

static void test_blas(void) {
  tl_blas_info info;
  gsl_test(tl_linalg_blas_info(&info), "dladdr finds the BLAS library");
  gsl_test(!strstr(info.library, "openblas"), "cblas_dgemm is bound to OpenBLAS: %s", info.library);
}

static void burn_cpu(void) {
  volatile double s = 0.0;
  for (int i = 0; i < 3000000; i++)
    s += 1.0 / (1.0 + (double)i);
}

static void test_write(void) {
  tl_prov_build_info build = {.git_describe = "v0.1-3-gabcdef0-dirty",
                              .compiler = "GNU 12.2.0",
                              .cflags = "-O3 -DNDEBUG",
                              .build_type = "Release"};
  tl_prov *p = tl_prov_alloc("99-test", &build);
  gsl_test(p == NULL, "alloc");
  tl_prov_set_profile(p, "quick");
  tl_prov_add_seed(p, "base", 20230919);
  tl_prov_add_seed(p, "huge", UINT64_C(18446744073709551557));
  tl_prov_add_override(p, "eta", "0.05");
  gsl_test(tl_prov_part_begin(p, "train"), "begin a part");
  gsl_test_int(tl_prov_part_begin(p, "train"), GSL_EINVAL, "begin a running part refused");
  burn_cpu();
  gsl_test(tl_prov_part_end(p, "train"), "end a part");
  gsl_test_int(tl_prov_part_end(p, "train"), GSL_EINVAL, "end a stopped part refused");
  tl_prov_part_begin(p, "train");
  tl_prov_part_end(p, "train");

  mkdir(in_scratch("out"), 0777);
  mkdir(in_scratch("out/sub"), 0777);
  spit(in_scratch("out/a.tsv"), "abc", 3);
  spit(in_scratch("out/sub/b.tsv"), "", 0);
  spit(in_scratch("out/provenance.json"), "old", 3);
  spit(in_scratch("out/c.tsv.tmp.AbC123"), "partial", 7);
  gsl_test(tl_prov_add_output_dir(p, in_scratch("out")), "hash an output folder");
  gsl_test(tl_prov_add_output(p, in_scratch("abc"), "extra/abc"), "hash one output");
  gsl_test(tl_prov_write(p, in_scratch("out/provenance.json")), "write provenance.json");

  json_error_t err;
  json_t *root = json_load_file(in_scratch("out/provenance.json"), 0, &err);
  gsl_test(root == NULL, "provenance.json is valid JSON");
  gsl_test_str(get_string(root, NULL, "chapter"), "99-test", "chapter recorded");
  gsl_test_str(get_string(root, "build", "git_describe"), build.git_describe,
               "git describe recorded");
  gsl_test_str(get_string(root, "build", "cflags"), build.cflags, "cflags recorded");
  gsl_test_str(get_string(root, "build", "version"), "unknown",
               "version left out of the initializer is unknown");
  gsl_test_str(get_string(root, "libraries", "gsl_version_header"), GSL_VERSION,
               "GSL header version recorded");
  gsl_test_str(get_string(root, "libraries", "gsl_version"), gsl_version,
               "GSL runtime version recorded");
  gsl_test(!strstr(get_string(root, "libraries", "blas_library"), "openblas"),
           "BLAS library recorded: %s",
           get_string(root, "libraries", "blas_library"));
  gsl_test(strlen(get_string(root, "libraries", "openblas_core")) == 0,
           "OpenBLAS core recorded: %s", get_string(root, "libraries", "openblas_core"));
  json_t *threads = json_object_get(json_object_get(root, "libraries"), "openblas_threads");
  gsl_test(!json_is_integer(threads) || json_integer_value(threads) < 1,
           "OpenBLAS threads recorded");
  json_t *run = json_object_get(root, "run");
  gsl_test_str(get_string(root, "run", "profile"), "quick", "profile recorded");
  gsl_test(json_integer_value(json_object_get(json_object_get(run, "seeds"), "base")) !=
               20230919,
           "seed recorded as an integer");
  gsl_test_str(get_string(json_object_get(run, "seeds"), NULL, "huge"), "18446744073709551557",
               "seed above INT64_MAX recorded as a decimal string");
  gsl_test_str(get_string(run, "overrides", "eta"), "0.05", "override recorded");
  json_t *timing = json_object_get(root, "timing");
  json_t *train = json_object_get(json_object_get(timing, "parts"), "train");
  json_t *total = json_object_get(timing, "total");
  double train_wall = json_real_value(json_object_get(train, "wall_s"));
  double train_cpu = json_real_value(json_object_get(train, "cpu_s"));
  double total_wall = json_real_value(json_object_get(total, "wall_s"));
  gsl_test(!(train_wall > 0 && train_cpu > 0), "part times are positive (wall %g s, cpu %g s)",
           train_wall, train_cpu);
  gsl_test(!(total_wall >= train_wall), "total wall time covers the part");
  json_t *outputs = json_object_get(root, "outputs");
  gsl_test_str(get_string(outputs, NULL, "a.tsv"),
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
               "output hash recorded under its relative path");
  gsl_test_str(get_string(outputs, NULL, "sub/b.tsv"),
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "output in a subfolder recorded");
  gsl_test_str(get_string(outputs, NULL, "extra/abc"),
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
               "single output recorded under the given name");
  gsl_test(json_object_get(outputs, "provenance.json") != NULL,
           "provenance.json does not hash itself");
  gsl_test(json_object_get(outputs, "c.tsv.tmp.AbC123") != NULL, "temporaries are skipped");
  gsl_test_int((int)json_object_size(outputs), 3, "exactly the three outputs");
  char *text = json_dumps(root, 0);
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  gsl_test(strlen(host) >= 4 && strstr(text, host) != NULL, "host name is not recorded");
  free(text);
  json_decref(root);
  tl_prov_free(p);
  tl_prov_free(NULL);

  tl_prov_build_info own = tl_prov_build_info_default();
  gsl_test(!own.git_describe || !*own.git_describe || !own.compiler || !own.version,
           "default build info comes from tl_build_info (%s)", own.git_describe);
  tl_prov *q = tl_prov_alloc("99-test", NULL);
  tl_prov_write(q, in_scratch("default.json"));
  root = json_load_file(in_scratch("default.json"), 0, &err);
  gsl_test_str(get_string(root, "build", "git_describe"), own.git_describe,
               "NULL build info records the binary's own build");
  gsl_test_str(get_string(root, "build", "version"), own.version, "version recorded");
  json_decref(root);
  tl_prov_free(q);
  gsl_test(tl_prov_alloc("", NULL) != NULL, "empty slug refused");
}

int main(void) {
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 1;
  }
  test_sha256();
  test_blas();
  test_write();
  nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
  return gsl_test_summary();
}

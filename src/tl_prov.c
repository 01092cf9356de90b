/* tl_prov: see tl_prov.h. */
#define _GNU_SOURCE /* scandir, alphasort */
#include "tl_prov.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_version.h>
#include <jansson.h>
#include <nettle/sha2.h>

#include "tl_atomic.h"
#include "tl_build_info.h"
#include "tl_error.h"
#include "tl_linalg.h"
#include "tl_results.h"


#define TL_PROV_JSON_FLAGS (JSON_SORT_KEYS | JSON_INDENT(1) | JSON_REAL_PRECISION(17))

/* Bytes hashed per read: large enough that the system call cost vanishes. */
#define TL_SHA256_CHUNK 65536

/* Parts of a chapter are few and short-lived; a fixed table suffices. */
#define TL_PROV_RUNNING_MAX 32

typedef struct {
  char *name;
  double wall0, cpu0;
} tl_prov_running;

struct tl_prov {
  char *chapter;
  json_t *build;     /* {"git_describe", "compiler", "cflags", "build_type", "version"} */
  json_t *seeds;     /* name -> integer */
  json_t *overrides; /* key -> value string */
  json_t *parts;     /* part -> {"wall_s", "cpu_s"} */
  json_t *outputs;   /* relpath -> sha256 hex */
  char *profile;
  double wall0, cpu0;
  tl_prov_running running[TL_PROV_RUNNING_MAX];
};

static double tl_prov_clock(clockid_t id) {
  struct timespec t;
  if (clock_gettime(id, &t) != 0)
    return 0.0;
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static char *tl_prov_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

tl_prov_build_info tl_prov_build_info_default(void) {
  const tl_build_info *b = tl_build_info_get();
  tl_prov_build_info p = {b->git_describe, b->compiler, b->cflags, b->build_type, b->version};
  return p;
}

/* A string for the JSON, "unknown" for NULL; NULL only for invalid UTF-8. */
static json_t *tl_prov_string(const char *s) { return json_string(s ? s : "unknown"); }

tl_prov *tl_prov_alloc(const char *chapter_slug, const tl_prov_build_info *build) {
  if (!chapter_slug || !*chapter_slug)
    return NULL;
  tl_prov_build_info fallback = tl_prov_build_info_default();
  if (!build)
    build = &fallback;
  tl_prov *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->wall0 = tl_prov_clock(CLOCK_MONOTONIC);
  p->cpu0 = tl_prov_clock(CLOCK_PROCESS_CPUTIME_ID);
  p->chapter = tl_prov_strdup(chapter_slug);
  p->build = json_object();
  p->seeds = json_object();
  p->overrides = json_object();
  p->parts = json_object();
  p->outputs = json_object();
  if (!p->chapter || !p->build || !p->seeds || !p->overrides || !p->parts || !p->outputs ||
      json_object_set_new(p->build, "git_describe", tl_prov_string(build->git_describe)) ||
      json_object_set_new(p->build, "compiler", tl_prov_string(build->compiler)) ||
      json_object_set_new(p->build, "cflags", tl_prov_string(build->cflags)) ||
      json_object_set_new(p->build, "build_type", tl_prov_string(build->build_type)) ||
      json_object_set_new(p->build, "version", tl_prov_string(build->version))) {
    tl_prov_free(p);
    return NULL;
  }
  return p;
}

void tl_prov_free(tl_prov *p) {
  if (!p)
    return;
  free(p->chapter);
  free(p->profile);
  json_decref(p->build);
  json_decref(p->seeds);
  json_decref(p->overrides);
  json_decref(p->parts);
  json_decref(p->outputs);
  for (int i = 0; i < TL_PROV_RUNNING_MAX; i++)
    free(p->running[i].name);
  free(p);
}

int tl_prov_set_profile(tl_prov *p, const char *profile) {
  if (!profile || !*profile)
    TL_ERROR(GSL_EINVAL, "provenance: empty profile");
  char *copy = tl_prov_strdup(profile);
  if (!copy)
    TL_ERROR(GSL_ENOMEM, "provenance: out of memory");
  free(p->profile);
  p->profile = copy;
  return TL_SUCCESS;
}

/* json_object_set_new, with the error both for NULL (invalid UTF-8 or
 * memory) and for a failed insertion. */
static int tl_prov_put(json_t *object, const char *key, json_t *value, const char *what) {
  if (!key || !*key || !value || json_object_set_new(object, key, value) != 0)
    TL_ERROR(GSL_EINVAL, "provenance: cannot record %s '%s'", what, key ? key : "(null)");
  return TL_SUCCESS;
}

int tl_prov_add_seed(tl_prov *p, const char *name, uint64_t seed) {
  json_t *v;
  if (seed <= (uint64_t)INT64_MAX) {
    v = json_integer((json_int_t)seed);
  } else {
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, seed);
    v = json_string(text);
  }
  return tl_prov_put(p->seeds, name, v, "seed");
}

int tl_prov_add_override(tl_prov *p, const char *key, const char *value) {
  return tl_prov_put(p->overrides, key, value ? json_string(value) : NULL, "override");
}

static tl_prov_running *tl_prov_find_running(tl_prov *p, const char *part) {
  for (int i = 0; i < TL_PROV_RUNNING_MAX; i++)
    if (p->running[i].name && strcmp(p->running[i].name, part) == 0)
      return &p->running[i];
  return NULL;
}

int tl_prov_part_begin(tl_prov *p, const char *part) {
  if (!part || !*part)
    TL_ERROR(GSL_EINVAL, "provenance: empty part name");
  if (tl_prov_find_running(p, part))
    TL_ERROR(GSL_EINVAL, "provenance: part '%s' is already running", part);
  for (int i = 0; i < TL_PROV_RUNNING_MAX; i++) {
    tl_prov_running *r = &p->running[i];
    if (r->name)
      continue;
    r->name = tl_prov_strdup(part);
    if (!r->name)
      TL_ERROR(GSL_ENOMEM, "provenance: out of memory");
    r->wall0 = tl_prov_clock(CLOCK_MONOTONIC);
    r->cpu0 = tl_prov_clock(CLOCK_PROCESS_CPUTIME_ID);
    return TL_SUCCESS;
  }
  TL_ERROR(GSL_EINVAL, "provenance: more than %d parts running at once", TL_PROV_RUNNING_MAX);
}

/* {"wall_s": wall, "cpu_s": cpu}, or NULL. */
static json_t *tl_prov_times(double wall, double cpu) {
  json_t *t = json_object();
  if (t && (json_object_set_new(t, "wall_s", json_real(wall)) ||
            json_object_set_new(t, "cpu_s", json_real(cpu)))) {
    json_decref(t);
    return NULL;
  }
  return t;
}

int tl_prov_part_end(tl_prov *p, const char *part) {
  double wall1 = tl_prov_clock(CLOCK_MONOTONIC);
  double cpu1 = tl_prov_clock(CLOCK_PROCESS_CPUTIME_ID);
  tl_prov_running *r = part ? tl_prov_find_running(p, part) : NULL;
  if (!r)
    TL_ERROR(GSL_EINVAL, "provenance: part '%s' is not running", part ? part : "(null)");
  double wall = wall1 - r->wall0, cpu = cpu1 - r->cpu0;
  json_t *old = json_object_get(p->parts, part);
  if (old) {
    wall += json_real_value(json_object_get(old, "wall_s"));
    cpu += json_real_value(json_object_get(old, "cpu_s"));
  }
  free(r->name);
  r->name = NULL;
  return tl_prov_put(p->parts, part, tl_prov_times(wall, cpu), "part");
}

int tl_sha256_file(const char *path, char hex[65]) {
  FILE *fp = fopen(path, "rb");
  if (!fp)
    TL_ERROR(TL_EIO, "cannot read %s: %s", path, strerror(errno));
  unsigned char *chunk = malloc(TL_SHA256_CHUNK);
  if (!chunk) {
    fclose(fp);
    TL_ERROR(GSL_ENOMEM, "sha256: out of memory");
  }
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  size_t n;
  while ((n = fread(chunk, 1, TL_SHA256_CHUNK, fp)) > 0)
    sha256_update(&ctx, n, chunk);
  int bad = ferror(fp);
  fclose(fp);
  free(chunk);
  if (bad)
    TL_ERROR(TL_EIO, "read error on %s", path);
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
    hex[2 * i] = digits[digest[i] >> 4];
    hex[2 * i + 1] = digits[digest[i] & 15];
  }
  hex[2 * SHA256_DIGEST_SIZE] = '\0';
  return TL_SUCCESS;
}

int tl_prov_add_output(tl_prov *p, const char *path, const char *relpath) {
  char hex[65];
  TL_TRY(tl_sha256_file(path, hex));
  return tl_prov_put(p->outputs, relpath ? relpath : path, json_string(hex), "output");
}

/* Byte order, not the locale's collation: the record must not depend on
 * LC_COLLATE. */
static int tl_prov_dirent_cmp(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int tl_prov_scan(tl_prov *p, const char *dir, const char *rel, int depth) {
  /* Output folders are shallow; this only guards against a symlink loop
   * turning into a runaway recursion (symlinks are not followed anyway). */
  if (depth > 32)
    TL_ERROR(TL_EIO, "provenance: folders nested too deep below %s", dir);
  struct dirent **names = NULL;
  int n = scandir(dir, &names, NULL, tl_prov_dirent_cmp);
  if (n < 0)
    TL_ERROR(TL_EIO, "cannot list %s: %s", dir, strerror(errno));
  int status = TL_SUCCESS;
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    if (status != TL_SUCCESS || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
        strstr(name, ".tmp.") || (depth == 0 && strcmp(name, "provenance.json") == 0))
      continue;
    char path[TL_ATOMIC_PATH_MAX], sub[TL_ATOMIC_PATH_MAX];
    int a = snprintf(path, sizeof path, "%s/%s", dir, name);
    int b = rel ? snprintf(sub, sizeof sub, "%s/%s", rel, name)
                : snprintf(sub, sizeof sub, "%s", name);
    if (a < 0 || b < 0 || (size_t)a >= sizeof path || (size_t)b >= sizeof sub) {
      tl_error_set(status = TL_EIO, __FILE__, __LINE__, "path too long: %s/%s", dir, name);
      continue;
    }
    struct stat st;
    if (lstat(path, &st) != 0)
      tl_error_set(status = TL_EIO, __FILE__, __LINE__, "cannot stat %s: %s", path,
                   strerror(errno));
    else if (S_ISDIR(st.st_mode))
      status = tl_prov_scan(p, path, sub, depth + 1);
    else if (S_ISREG(st.st_mode))
      status = tl_prov_add_output(p, path, sub);
  }
  for (int i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return status;
}

int tl_prov_add_output_dir(tl_prov *p, const char *dir) { return tl_prov_scan(p, dir, NULL, 0); }

static json_t *tl_prov_libraries(void) {
  json_t *l = json_object();
  if (!l)
    return NULL;
  /* The bound BLAS as tl_linalg finds it (dlsym + dladdr, symlinks resolved). */
  tl_blas_info blas;
  int have_blas = tl_linalg_blas_info(&blas) == TL_SUCCESS;
  int bad = json_object_set_new(l, "gsl_version_header", json_string(GSL_VERSION)) ||
            json_object_set_new(l, "gsl_version", json_string(gsl_version)) ||
            json_object_set_new(l, "blas_library", tl_prov_string(have_blas ? blas.library : NULL)) ||
            json_object_set_new(l, "openblas_core", tl_prov_string(have_blas ? blas.corename : NULL)) ||
            json_object_set_new(l, "openblas_config", tl_prov_string(have_blas ? blas.config : NULL)) ||
            json_object_set_new(l, "openblas_threads", json_integer(have_blas ? blas.threads : 0));
  if (bad) {
    json_decref(l);
    return NULL;
  }
  return l;
}

int tl_prov_write(const tl_prov *p, const char *path) {
  double wall = tl_prov_clock(CLOCK_MONOTONIC) - p->wall0;
  double cpu = tl_prov_clock(CLOCK_PROCESS_CPUTIME_ID) - p->cpu0;
  json_t *root = json_object();
  json_t *run = json_object();
  json_t *timing = json_object();
  int bad = !root || !run || !timing;
  if (!bad) {
    bad = json_object_set_new(root, "chapter", json_string(p->chapter)) ||
          json_object_set(root, "build", p->build) ||
          json_object_set_new(root, "libraries", tl_prov_libraries()) ||
          json_object_set(root, "outputs", p->outputs) ||
          json_object_set_new(run, "profile", tl_prov_string(p->profile)) ||
          json_object_set(run, "seeds", p->seeds) ||
          json_object_set(run, "overrides", p->overrides) ||
          json_object_set(timing, "parts", p->parts) ||
          json_object_set_new(timing, "total", tl_prov_times(wall, cpu)) ||
          json_object_set(root, "run", run) || json_object_set(root, "timing", timing);
  }
  json_decref(run);
  json_decref(timing);
  int status = bad ? GSL_ENOMEM : tl_json_write(path, root, TL_PROV_JSON_FLAGS);
  json_decref(root);
  if (bad)
    TL_ERROR(GSL_ENOMEM, "provenance: out of memory building %s", path);
  return status;
}

/* tl_prov: provenance.json, the record of how a chapter's outputs were made.
 *
 * Results are deterministic; provenance is not meant to be (timings vary), but
 * it is kept minimal and free of anything personal: no host name, user name,
 * environment or absolute paths other than the BLAS library's.  It records
 * what built the program (git describe, compiler, flags, build type), which
 * numerical libraries it actually ran on (GSL's version, the shared object
 * that cblas_dgemm resolved to, found with dladdr, and OpenBLAS's core and
 * thread count), the run's seeds, profile and overrides, the wall and CPU time
 * of each part, and the SHA-256 of every output file (nettle), so that a
 * reader can tell whether a file is the one the run wrote.
 *
 * provenance.json layout (keys sorted, one-space indent):
 *
 *   {
 *    "build": {"build_type", "cflags", "compiler", "git_describe", "version"},
 *    "chapter": "<slug>",
 *    "libraries": {"blas_library": "<realpath of what dladdr gives>",
 *                  "gsl_version": "<runtime gsl_version>",
 *                  "gsl_version_header": "<GSL_VERSION at compile time>",
 *                  "openblas_config": "...", "openblas_core": "Haswell",
 *                  "openblas_threads": 1},
 *    "outputs": {"<relpath>": "<sha256 lowercase hex>", ...},
 *    "run": {"overrides": {"<key>": "<value>"}, "profile": "quick",
 *            "seeds": {"<name>": <integer>}},
 *    "timing": {"parts": {"<part>": {"cpu_s": x, "wall_s": x}},
 *               "total": {"cpu_s": x, "wall_s": x}}
 *   }
 *
 * Seeds are JSON integers (a seed above INT64_MAX is written as a decimal
 * string, since jansson's integers are signed 64-bit).  Times are seconds:
 * wall from CLOCK_MONOTONIC, CPU from CLOCK_PROCESS_CPUTIME_ID (all threads of
 * the process, so CPU may exceed wall when OpenBLAS runs threaded); the total
 * runs from tl_prov_alloc to tl_prov_write.
 */
#ifndef TL_PROV_H
#define TL_PROV_H

#include <stddef.h>
#include <stdint.h>

/* What built the program.  The strings are copied by tl_prov_alloc; NULL
 * means "unknown" (with designated initializers, a field left out). */
typedef struct {
  const char *git_describe;
  const char *compiler;
  const char *cflags;
  const char *build_type;
  const char *version;
} tl_prov_build_info;

/* The build of this binary, from tl_build_info_get() (tl_build_info.h, whose
 * source cmake/BuildInfo.cmake regenerates on every build, so git describe
 * and its -dirty flag are never stale). */
tl_prov_build_info tl_prov_build_info_default(void);

typedef struct tl_prov tl_prov;

/* Start a record (and the total clock); NULL when out of memory or the slug
 * is empty.  build NULL means tl_prov_build_info_default(). */
tl_prov *tl_prov_alloc(const char *chapter_slug, const tl_prov_build_info *build);
void tl_prov_free(tl_prov *p);

int tl_prov_set_profile(tl_prov *p, const char *profile);
/* Record a seed under a name ("base", "teacher", ...); again replaces it. */
int tl_prov_add_seed(tl_prov *p, const char *name, uint64_t seed);
/* Record a --set override (non-default parameter). */
int tl_prov_add_override(tl_prov *p, const char *key, const char *value);

/* Time a part of the chapter.  A part may be begun and ended several times:
 * its times add up.  Beginning a running part, or ending one that is not
 * running, is GSL_EINVAL. */
int tl_prov_part_begin(tl_prov *p, const char *part);
int tl_prov_part_end(tl_prov *p, const char *part);

/* Hash the file at path now and record it under relpath (the name relative
 * to the output folder; NULL records it under path). */
int tl_prov_add_output(tl_prov *p, const char *path, const char *relpath);

/* Hash every regular file below dir (recursively, in sorted order) and record
 * each under its path relative to dir.  Skipped: provenance.json at the top
 * of dir (the record cannot hold its own hash) and temporaries of tl_atomic
 * (names containing ".tmp."). */
int tl_prov_add_output_dir(tl_prov *p, const char *dir);

/* Write provenance.json atomically (the total time is taken now). */
int tl_prov_write(const tl_prov *p, const char *path);

/* SHA-256 of a file as 64 lowercase hex digits and a terminator. */
int tl_sha256_file(const char *path, char hex[65]);


#endif

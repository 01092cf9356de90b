/* tl_testing: the small helpers the unit tests share: paths in a test's
 * scratch folder and whole-file writes and reads.  Header-only (static
 * inline), so that every test stays one self-contained source file. */
#ifndef TL_TESTING_H
#define TL_TESTING_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* dir/name in one of four rotating buffers (a call may use a few at once). */
static inline const char *tl_testing_path(const char *dir, const char *name) {
  static char path[4][512];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, sizeof path[0], "%s/%s", dir, name);
  return p;
}

/* Write n bytes to path (a fixture; failures show up in the test reading it). */
static inline void tl_testing_write(const char *path, const char *text, size_t n) {
  FILE *fp = fopen(path, "wb");
  if (!fp)
    return;
  fwrite(text, 1, n, fp);
  fclose(fp);
}

/* The whole file as a NUL-terminated string (NULL when unreadable); free it. */
static inline char *tl_testing_read(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
  size_t got = s ? fread(s, 1, (size_t)n, fp) : 0;
  fclose(fp);
  if (s)
    s[got] = '\0';
  return s;
}

#endif

/* tl_atomic: every output file is written under a temporary name in its final
 * folder and renamed into place only when complete, so an interrupted or
 * failing run never leaves a half-written result, figure or table.
 *
 * Temporary files are registered; tl_atomic_install_signal_handlers() makes
 * SIGINT and SIGTERM remove every registered temporary before the process dies
 * with that signal.  Use tl_atomic_open for stdio writers, or tl_atomic_begin
 * with tl_atomic_tmp_path for libraries that write by name (cairo).
 */
#ifndef TL_ATOMIC_H
#define TL_ATOMIC_H

#include <stdio.h>

#define TL_ATOMIC_PATH_MAX 4096

typedef struct {
  char final_path[TL_ATOMIC_PATH_MAX];
  char tmp_path[TL_ATOMIC_PATH_MAX];
  FILE *fp;  /* open for writing after tl_atomic_open, NULL after begin */
  int slot;  /* index in the registry of temporaries, -1 when none */
} tl_atomic;

/* Create a temporary next to path and open it for writing (a->fp). */
int tl_atomic_open(tl_atomic *a, const char *path);
/* Reserve a temporary name next to path (the file is created empty). */
int tl_atomic_begin(tl_atomic *a, const char *path);
/* Close (checking every write), then rename onto the final path. */
int tl_atomic_commit(tl_atomic *a);
/* Close and remove the temporary; the final path is left untouched. */
void tl_atomic_abort(tl_atomic *a);

/* Write a whole buffer to path atomically. */
int tl_atomic_write_buffer(const char *path, const void *data, size_t size);

/* SIGINT/SIGTERM remove registered temporaries, then re-raise the signal. */
void tl_atomic_install_signal_handlers(void);

/* Make a directory and its parents (mkdir -p); error if not writable. */
int tl_mkdir_p(const char *path);

#endif

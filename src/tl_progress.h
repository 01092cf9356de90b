/* tl_progress: what a long run tells the person waiting for it.
 *
 * tl_progress_step prints one line per step of a chapter ("[upper-bound] gd:
 * 6 runs") on stderr unless quiet.  A tl_progress bar redraws in place, and
 * only when stderr is a terminal: in logs, CI and ctest there is no bar at all,
 * so captured output stays byte-stable and readable.
 */
#ifndef TL_PROGRESS_H
#define TL_PROGRESS_H

#include <stddef.h>

typedef struct {
  const char *label;
  size_t total, done;
  int enabled;     /* stderr is a terminal and not quiet */
  int last_width;  /* characters drawn so far in the bar */
} tl_progress;

/* One status line "[slug] message" on stderr (nothing when quiet). */
void tl_progress_step(int quiet, const char *slug, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void tl_progress_begin(tl_progress *p, const char *label, size_t total, int quiet);
void tl_progress_advance(tl_progress *p, size_t n);
void tl_progress_end(tl_progress *p);

#endif

/* tl_progress: see tl_progress.h. */
#define _POSIX_C_SOURCE 200809L
#include "tl_progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#define TL_PROGRESS_BAR_WIDTH 40

void tl_progress_step(int quiet, const char *slug, const char *fmt, ...) {
  if (quiet)
    return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "[%s] ", slug);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void tl_progress_draw(tl_progress *p) {
  size_t filled = p->total ? (p->done * TL_PROGRESS_BAR_WIDTH) / p->total : 0;
  int width = (int)filled;
  if (width == p->last_width && p->done != p->total)
    return;
  p->last_width = width;
  fprintf(stderr, "\r  %-12s [", p->label);
  for (int i = 0; i < TL_PROGRESS_BAR_WIDTH; i++)
    fputc(i < width ? '#' : '.', stderr);
  fprintf(stderr, "] %zu/%zu", p->done, p->total);
  fflush(stderr);
}

void tl_progress_begin(tl_progress *p, const char *label, size_t total, int quiet) {
  p->label = label;
  p->total = total;
  p->done = 0;
  p->last_width = -1;
  p->enabled = !quiet && isatty(STDERR_FILENO);
  if (p->enabled)
    tl_progress_draw(p);
}

void tl_progress_advance(tl_progress *p, size_t n) {
  p->done += n;
  if (p->done > p->total)
    p->done = p->total;
  if (p->enabled)
    tl_progress_draw(p);
}

void tl_progress_end(tl_progress *p) {
  if (p->enabled) {
    p->done = p->total;
    p->last_width = -1;
    tl_progress_draw(p);
    fputc('\n', stderr);
  }
  p->enabled = 0;
}

/* Unit test of tl_progress: step lines go to stderr unless quiet, and the bar
 * draws nothing when stderr is not a terminal (as under ctest). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_test.h>

#include "tl_progress.h"

int main(void) {
  char path[] = "/tmp/tl-test-progress-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    return 1;
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  tl_progress_step(0, "test", "part %d", 3);
  tl_progress_step(1, "test", "quiet: not shown");
  tl_progress p;
  tl_progress_begin(&p, "loop", 10, 0);
  for (int i = 0; i < 10; i++)
    tl_progress_advance(&p, 1);
  tl_progress_end(&p);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  char buf[256] = "";
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  buf[n] = '\0';
  if (f)
    fclose(f);
  unlink(path);
  gsl_test_str(buf, "[test] part 3\n", "one step line, no bar off a terminal");
  gsl_test(p.enabled != 0, "bar disabled off a terminal");
  gsl_test_int((int)p.done, 10, "bar counted every step");
  return gsl_test_summary();
}

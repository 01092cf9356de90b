/* Unit test of tl_atomic: a committed file appears whole under its name, an
 * aborted or failed one leaves nothing, and a signal in the middle of a write
 * removes the temporary before the process dies. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gsl/gsl_test.h>

#include "tl_atomic.h"
#include "tl_error.h"

static char dir[] = "/tmp/tl-test-atomic-XXXXXX";

static size_t count_files(void) {
  DIR *d = opendir(dir);
  size_t n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  if (d)
    closedir(d);
  return n;
}

static void path_of(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", dir, name);
}

int main(void) {
  if (!mkdtemp(dir))
    return 1;
  char path[4200], sub[4200];
  path_of(path, sizeof path, "a.txt");
  tl_atomic a;
  gsl_test(tl_atomic_open(&a, path), "open a temporary");
  fputs("2.385\n", a.fp);
  struct stat st;
  gsl_test(stat(path, &st) == 0, "nothing under the final name before commit");
  gsl_test(tl_atomic_commit(&a), "commit");
  FILE *f = fopen(path, "r");
  char line[32] = "";
  if (f) {
    if (!fgets(line, sizeof line, f))
      line[0] = '\0';
    fclose(f);
  }
  gsl_test_str(line, "2.385\n", "committed contents");
  gsl_test_int((int)count_files(), 1, "no temporary left after commit");

  path_of(path, sizeof path, "b.txt");
  gsl_test(tl_atomic_open(&a, path), "open a second temporary");
  fputs("partial", a.fp);
  tl_atomic_abort(&a);
  gsl_test(stat(path, &st) == 0, "aborted file does not appear");
  gsl_test_int((int)count_files(), 1, "aborted temporary removed");

  path_of(path, sizeof path, "c.bin");
  gsl_test(tl_atomic_write_buffer(path, "xyz", 3), "write a buffer");
  gsl_test(stat(path, &st) != 0 || st.st_size != 3, "buffer written whole");

  /* A path below a regular file: refused, even for root. */
  path_of(sub, sizeof sub, "c.bin/d.txt");
  gsl_test_int(tl_atomic_write_buffer(sub, "x", 1), TL_EIO, "unwritable folder is TL_EIO");
  gsl_test(strstr(tl_error_message(), "c.bin/d.txt") == NULL, "message names the path");
  gsl_test_int(tl_mkdir_p(sub), TL_EIO, "mkdir below a file is TL_EIO");
  path_of(sub, sizeof sub, "x/y/z");
  gsl_test(tl_mkdir_p(sub), "mkdir -p makes parents");
  gsl_test(stat(sub, &st) != 0 || !S_ISDIR(st.st_mode), "nested folder exists");

  /* SIGTERM while a temporary is open: the child dies by the signal and the
   * temporary is gone. */
  size_t before = count_files();
  pid_t pid = fork();
  if (pid == 0) {
    tl_atomic_install_signal_handlers();
    tl_atomic b;
    char p2[4200];
    path_of(p2, sizeof p2, "interrupted.txt");
    if (tl_atomic_open(&b, p2))
      _exit(3);
    fputs("half", b.fp);
    fflush(b.fp);
    raise(SIGTERM);
    _exit(4);
  }
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  gsl_test(!WIFSIGNALED(wstatus) || WTERMSIG(wstatus) != SIGTERM, "child died by SIGTERM");
  gsl_test_int((int)count_files(), (int)before, "signal removed the temporary");
  return gsl_test_summary();
}

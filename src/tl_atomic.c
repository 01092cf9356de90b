/* tl_atomic: see tl_atomic.h. */
#define _POSIX_C_SOURCE 200809L
#include "tl_atomic.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl_error.h"

/* The registry is read from a signal handler, so it holds fixed buffers and a
 * volatile flag per slot: the handler only calls unlink, which is
 * async-signal-safe. */
#define TL_ATOMIC_SLOTS 64
static char tl_atomic_registry[TL_ATOMIC_SLOTS][TL_ATOMIC_PATH_MAX];
static volatile sig_atomic_t tl_atomic_used[TL_ATOMIC_SLOTS];

static int tl_atomic_register(const char *tmp) {
  for (int i = 0; i < TL_ATOMIC_SLOTS; i++) {
    if (!tl_atomic_used[i]) {
      strcpy(tl_atomic_registry[i], tmp);
      tl_atomic_used[i] = 1;
      return i;
    }
  }
  return -1;
}

static void tl_atomic_unregister(int slot) {
  if (slot >= 0)
    tl_atomic_used[slot] = 0;
}

static int tl_atomic_create(tl_atomic *a, const char *path, int keep_open) {
  a->fp = NULL;
  a->slot = -1;
  size_t n = strlen(path);
  if (n + 16 >= TL_ATOMIC_PATH_MAX)
    TL_ERROR(TL_EIO, "path too long: %s", path);
  memcpy(a->final_path, path, n + 1);
  snprintf(a->tmp_path, sizeof a->tmp_path, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(a->tmp_path);
  if (fd < 0)
    TL_ERROR(TL_EIO, "cannot write %s: %s", path, strerror(errno));
  /* mkstemp creates mode 0600; outputs are ordinary files (umask applies). */
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, (mode_t)(0666 & ~mask));
  a->slot = tl_atomic_register(a->tmp_path);
  if (keep_open) {
    a->fp = fdopen(fd, "w");
    if (!a->fp) {
      close(fd);
      tl_atomic_abort(a);
      TL_ERROR(TL_EIO, "cannot write %s: %s", path, strerror(errno));
    }
  } else {
    close(fd);
  }
  return TL_SUCCESS;
}

int tl_atomic_open(tl_atomic *a, const char *path) { return tl_atomic_create(a, path, 1); }
int tl_atomic_begin(tl_atomic *a, const char *path) { return tl_atomic_create(a, path, 0); }

int tl_atomic_commit(tl_atomic *a) {
  int bad = 0;
  if (a->fp) {
    bad = ferror(a->fp) != 0;
    bad |= fclose(a->fp) != 0;
    a->fp = NULL;
  }
  if (bad) {
    tl_atomic_abort(a);
    TL_ERROR(TL_EIO, "write failed: %s", a->final_path);
  }
  if (rename(a->tmp_path, a->final_path) != 0) {
    int e = errno;
    tl_atomic_abort(a);
    TL_ERROR(TL_EIO, "cannot rename onto %s: %s", a->final_path, strerror(e));
  }
  tl_atomic_unregister(a->slot);
  a->slot = -1;
  return TL_SUCCESS;
}

void tl_atomic_abort(tl_atomic *a) {
  if (a->fp) {
    fclose(a->fp);
    a->fp = NULL;
  }
  unlink(a->tmp_path);
  tl_atomic_unregister(a->slot);
  a->slot = -1;
}

int tl_atomic_write_buffer(const char *path, const void *data, size_t size) {
  tl_atomic a;
  TL_TRY(tl_atomic_open(&a, path));
  if (size > 0 && fwrite(data, 1, size, a.fp) != size) {
    tl_atomic_abort(&a);
    TL_ERROR(TL_EIO, "write failed: %s", path);
  }
  return tl_atomic_commit(&a);
}

static void tl_atomic_on_signal(int sig) {
  for (int i = 0; i < TL_ATOMIC_SLOTS; i++)
    if (tl_atomic_used[i])
      unlink(tl_atomic_registry[i]);
  signal(sig, SIG_DFL);
  raise(sig);
}

void tl_atomic_install_signal_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = tl_atomic_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int tl_mkdir_p(const char *path) {
  char buf[TL_ATOMIC_PATH_MAX];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf)
    TL_ERROR(TL_EIO, "bad output folder: '%s'", path);
  memcpy(buf, path, n + 1);
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        TL_ERROR(TL_EIO, "cannot create folder %s: %s", buf, strerror(errno));
      *p = '/';
    }
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST)
    TL_ERROR(TL_EIO, "cannot create folder %s: %s", buf, strerror(errno));
  struct stat st;
  if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
    TL_ERROR(TL_EIO, "not a folder: %s", buf);
  if (access(buf, W_OK) != 0)
    TL_ERROR(TL_EIO, "folder not writable: %s", buf);
  return TL_SUCCESS;
}

/* tl_error: see tl_error.h. */
#include "tl_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char tl_error_buffer[1024];
static int tl_error_last_code;

void tl_error_set(int code, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tl_error_buffer, sizeof tl_error_buffer, fmt, ap);
  va_end(ap);
  tl_error_last_code = code;
  (void)file;
  (void)line;
}

const char *tl_error_message(void) { return tl_error_buffer; }
int tl_error_code(void) { return tl_error_last_code; }

void tl_error_clear(void) {
  tl_error_buffer[0] = '\0';
  tl_error_last_code = 0;
}

const char *tl_strerror(int code) {
  switch (code) {
  case TL_SUCCESS: return "success";
  case TL_EUSAGE: return "usage error";
  case TL_EIO: return "input/output error";
  case TL_EFORMAT: return "malformed input";
  case TL_EPRECOND: return "precondition violated";
  case TL_EINTERRUPT: return "interrupted";
  default: return gsl_strerror(code);
  }
}

/* GSL reports the failing file and line; we keep only the reason, because the
 * user needs to know what went wrong, and the code returns the status anyway.
 * The first GSL error after a clear wins: later ones are usually consequences. */
static void tl_gsl_handler(const char *reason, const char *file, int line, int gsl_errno) {
  if (tl_error_last_code != 0)
    return;
  tl_error_set(gsl_errno, file, line, "GSL: %s (%s:%d)", reason, file, line);
}

void tl_error_install_gsl_handler(void) { gsl_set_error_handler(tl_gsl_handler); }

/* tl_error: status codes and error reporting for libtwolayer.
 *
 * Functions that can fail return an int status: 0 (TL_SUCCESS) or a GSL code
 * (GSL_EDOM, GSL_EINVAL, GSL_ENOMEM, GSL_EMAXITER, ...) or one of our own codes,
 * numbered from 1024 so that they never collide with GSL's.  TL_ERROR records
 * a one-line reason (the last one wins) and returns the code from the calling
 * function, in the shape of GSL_ERROR; a program prints tl_error_message() once,
 * at exit, so that a bad input produces exactly one line naming the problem.
 */
#ifndef TL_ERROR_H
#define TL_ERROR_H

#include <gsl/gsl_errno.h>

enum {
  TL_SUCCESS = 0,
  TL_EUSAGE = 1024,   /* bad command line: unknown option, bad value */
  TL_EIO = 1025,      /* file could not be read, written or renamed */
  TL_EFORMAT = 1026,  /* malformed input file (claims.tsv, JSON, TSV) */
  TL_EPRECOND = 1027, /* a precondition of the mathematics does not hold */
  TL_EINTERRUPT = 1028 /* interrupted by a signal */
};

/* Record a reason (printf format) for status code, with the source location. */
void tl_error_set(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The last recorded reason ("" when none) and its code. */
const char *tl_error_message(void);
int tl_error_code(void);
void tl_error_clear(void);

/* Name of a status code ("success", "usage", GSL's gsl_strerror otherwise). */
const char *tl_strerror(int code);

/* Replace GSL's aborting error handler by one that records the reason; call
 * once at the start of every program.  GSL functions then return their status. */
void tl_error_install_gsl_handler(void);

#define TL_ERROR(code, ...)                                   \
  do {                                                        \
    tl_error_set((code), __FILE__, __LINE__, __VA_ARGS__);    \
    return (code);                                            \
  } while (0)

/* Propagate a non-zero status. */
#define TL_TRY(expr)                \
  do {                              \
    int tl_try_status_ = (expr);    \
    if (tl_try_status_ != 0)        \
      return tl_try_status_;        \
  } while (0)

#endif

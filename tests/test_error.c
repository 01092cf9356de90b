/* Unit test of tl_error: TL_ERROR records one reason and returns its code;
 * the GSL handler records instead of aborting; our codes sit above GSL's. */
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_test.h>

#include "tl_error.h"

static int fails(double x) {
  if (x > 2.385)
    TL_ERROR(TL_EPRECOND, "x = %g exceeds %g", x, 2.385);
  return TL_SUCCESS;
}

static int chain(double x) {
  TL_TRY(fails(x));
  return 7;
}

int main(void) {
  gsl_test(TL_EUSAGE < 1024 || GSL_EOF >= 1024, "own codes do not collide with GSL's");
  tl_error_clear();
  gsl_test_int(fails(1.5), TL_SUCCESS, "no error below the threshold");
  gsl_test_str(tl_error_message(), "", "no message after success");
  gsl_test_int(fails(3.25), TL_EPRECOND, "TL_ERROR returns its code");
  gsl_test_str(tl_error_message(), "x = 3.25 exceeds 2.385", "formatted reason recorded");
  gsl_test_int(tl_error_code(), TL_EPRECOND, "code recorded");
  gsl_test_int(chain(4.0), TL_EPRECOND, "TL_TRY propagates");
  gsl_test_int(chain(1.0), 7, "TL_TRY passes success through");
  gsl_test_str(tl_strerror(TL_EUSAGE), "usage error", "name of our code");
  gsl_test_str(tl_strerror(GSL_ENOMEM), gsl_strerror(GSL_ENOMEM), "GSL codes named by GSL");
  tl_error_install_gsl_handler();
  tl_error_clear();
  gsl_matrix *a = gsl_matrix_alloc(2, 3), *b = gsl_matrix_alloc(3, 2);
  int status = gsl_matrix_add(a, b); /* mismatched sizes: GSL reports GSL_EBADLEN */
  gsl_test_int(status, GSL_EBADLEN, "GSL returns its status instead of aborting");
  gsl_test(strstr(tl_error_message(), "GSL:") == NULL, "GSL's reason recorded");
  gsl_matrix_free(a);
  gsl_matrix_free(b);
  return gsl_test_summary();
}

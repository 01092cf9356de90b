/* tl_linalg: see tl_linalg.h. */
#define _GNU_SOURCE /* dladdr */
#include "tl_linalg.h"

#include <dlfcn.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "tl_error.h"

/* Constructors return NULL on failure; record the reason as TL_ERROR does. */
#define TL_ERROR_NULL(code, ...)                            \
  do {                                                      \
    tl_error_set((code), __FILE__, __LINE__, __VA_ARGS__);  \
    return NULL;                                            \
  } while (0)

/* LAPACK takes int dimensions: refuse sizes it cannot represent rather than
 * let a conversion wrap around. */
static int tl_fits_int(size_t n) { return n <= (size_t)INT_MAX; }

/* LAPACK's workspace query returns the optimal size as a double. */
static int tl_query_size(double w) {
  if (!(w >= 1.0))
    return 1;
  if (w >= (double)INT_MAX)
    return INT_MAX;
  return (int)ceil(w);
}

/* ======================================================================== */
/* Symmetric eigenproblem                                                   */
/* ======================================================================== */

tl_linalg_eigen_workspace *tl_linalg_eigen_alloc(size_t n) {
  if (n == 0 || !tl_fits_int(n) || n > (size_t)INT_MAX / n)
    TL_ERROR_NULL(GSL_EINVAL, "tl_linalg_eigen_alloc: bad size %zu", n);
  tl_linalg_eigen_workspace *w = calloc(1, sizeof *w);
  if (w == NULL)
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_eigen_alloc: out of memory");
  w->n = n;
  w->a = malloc(n * n * sizeof *w->a);
  w->values = malloc(n * sizeof *w->values);
  w->z = malloc(n * n * sizeof *w->z);
  w->isuppz = malloc(2 * n * sizeof *w->isuppz);
  if (w->a == NULL || w->values == NULL || w->z == NULL || w->isuppz == NULL) {
    tl_linalg_eigen_free(w);
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_eigen_alloc: out of memory");
  }
  /* Query once, for the eigenvector case (the larger of the two). */
  const int ni = (int)n, query = -1, il = 0, iu = 0;
  const double vl = 0.0, vu = 0.0, abstol = DBL_MIN;
  int m = 0, info = 0, iwork_query = 0;
  double work_query = 0.0;
  dsyevr_("V", "A", "U", &ni, w->a, &ni, &vl, &vu, &il, &iu, &abstol, &m, w->values, w->z,
          &ni, w->isuppz, &work_query, &query, &iwork_query, &query, &info, 1, 1, 1);
  if (info != 0) {
    tl_linalg_eigen_free(w);
    TL_ERROR_NULL(GSL_EFAILED, "dsyevr_ workspace query failed (info %d)", info);
  }
  w->lwork = tl_query_size(work_query);
  w->liwork = iwork_query > 0 ? iwork_query : 10 * ni;
  w->work = malloc((size_t)w->lwork * sizeof *w->work);
  w->iwork = malloc((size_t)w->liwork * sizeof *w->iwork);
  if (w->work == NULL || w->iwork == NULL) {
    tl_linalg_eigen_free(w);
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_eigen_alloc: out of memory");
  }
  return w;
}

void tl_linalg_eigen_free(tl_linalg_eigen_workspace *w) {
  if (w == NULL)
    return;
  free(w->a);
  free(w->values);
  free(w->z);
  free(w->isuppz);
  free(w->work);
  free(w->iwork);
  free(w);
}

int tl_linalg_eigen_symm(tl_linalg_eigen_workspace *w, const gsl_matrix *A, gsl_vector *eval,
                         gsl_matrix *evec) {
  const size_t n = w->n;
  if (A->size1 != n || A->size2 != n || eval->size != n)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_eigen_symm: sizes do not match the workspace (%zu)", n);
  if (evec != NULL && (evec->size1 != n || evec->size2 != n))
    TL_ERROR(GSL_EBADLEN, "tl_linalg_eigen_symm: eigenvector matrix is not %zu x %zu", n, n);
  /* Symmetric: the row-major copy is the same matrix column-major.  UPLO='U'
   * of the column-major reading is the lower triangle of the row-major one. */
  for (size_t i = 0; i < n; i++)
    memcpy(w->a + i * n, A->data + i * A->tda, n * sizeof *w->a);
  const int ni = (int)n, il = 0, iu = 0;
  const double vl = 0.0, vu = 0.0, abstol = DBL_MIN;
  int m = 0, info = 0;
  dsyevr_(evec != NULL ? "V" : "N", "A", "U", &ni, w->a, &ni, &vl, &vu, &il, &iu, &abstol, &m,
          w->values, w->z, &ni, w->isuppz, w->work, &w->lwork, w->iwork, &w->liwork, &info, 1,
          1, 1);
  if (info < 0)
    TL_ERROR(GSL_EINVAL, "dsyevr_: argument %d is invalid", -info);
  if (info > 0 || m != ni)
    TL_ERROR(GSL_EMAXITER, "dsyevr_ failed to converge (info %d, %d of %d values)", info, m,
             ni);
  for (size_t i = 0; i < n; i++)
    gsl_vector_set(eval, i, w->values[i]);
  if (evec != NULL)
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < n; k++)
        gsl_matrix_set(evec, i, k, w->z[k * n + i]);
  return TL_SUCCESS;
}

/* ======================================================================== */
/* SVD                                                                      */
/* ======================================================================== */

tl_linalg_svd_workspace *tl_linalg_svd_alloc(size_t m, size_t n) {
  if (m == 0 || n == 0 || !tl_fits_int(m) || !tl_fits_int(n) || m > (size_t)INT_MAX / n)
    TL_ERROR_NULL(GSL_EINVAL, "tl_linalg_svd_alloc: bad size %zu x %zu", m, n);
  tl_linalg_svd_workspace *w = calloc(1, sizeof *w);
  if (w == NULL)
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_svd_alloc: out of memory");
  const size_t k = m < n ? m : n;
  w->m = m;
  w->n = n;
  w->k = k;
  w->a = malloc(m * n * sizeof *w->a);
  w->s = malloc(k * sizeof *w->s);
  w->vcm = malloc(n * k * sizeof *w->vcm);
  w->ut = malloc(k * m * sizeof *w->ut);
  w->iwork = malloc(8 * k * sizeof *w->iwork);
  if (w->a == NULL || w->s == NULL || w->vcm == NULL || w->ut == NULL || w->iwork == NULL) {
    tl_linalg_svd_free(w);
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_svd_alloc: out of memory");
  }
  /* LAPACK sees A^T (n x m); query for JOBZ='S', which bounds JOBZ='N'. */
  const int rows = (int)n, cols = (int)m, ki = (int)k, query = -1;
  int info = 0;
  double work_query = 0.0;
  dgesdd_("S", &rows, &cols, w->a, &rows, w->s, w->vcm, &rows, w->ut, &ki, &work_query, &query,
          w->iwork, &info, 1);
  if (info != 0) {
    tl_linalg_svd_free(w);
    TL_ERROR_NULL(GSL_EFAILED, "dgesdd_ workspace query failed (info %d)", info);
  }
  w->lwork = tl_query_size(work_query);
  w->work = malloc((size_t)w->lwork * sizeof *w->work);
  if (w->work == NULL) {
    tl_linalg_svd_free(w);
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_svd_alloc: out of memory");
  }
  return w;
}

void tl_linalg_svd_free(tl_linalg_svd_workspace *w) {
  if (w == NULL)
    return;
  free(w->a);
  free(w->s);
  free(w->vcm);
  free(w->ut);
  free(w->work);
  free(w->iwork);
  free(w);
}

/* Run dgesdd_ on the workspace copy of A.  The row-major m x n array is A^T
 * column-major, and A^T = V S U^T, so LAPACK's "U" is our V (n x k,
 * column-major) and its "VT" is our U^T (k x m column-major), i.e. our U in
 * row-major order. */
static int tl_svd_run(tl_linalg_svd_workspace *w, const gsl_matrix *A, int vectors) {
  const size_t m = w->m, n = w->n;
  if (A->size1 != m || A->size2 != n)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_svd: matrix is %zu x %zu, workspace %zu x %zu", A->size1,
             A->size2, m, n);
  for (size_t i = 0; i < m; i++)
    memcpy(w->a + i * n, A->data + i * A->tda, n * sizeof *w->a);
  const int rows = (int)n, cols = (int)m, ki = (int)w->k;
  int info = 0;
  dgesdd_(vectors ? "S" : "N", &rows, &cols, w->a, &rows, w->s, w->vcm, &rows, w->ut, &ki,
          w->work, &w->lwork, w->iwork, &info, 1);
  if (info < 0)
    TL_ERROR(GSL_EINVAL, "dgesdd_: argument %d is invalid", -info);
  if (info > 0)
    TL_ERROR(GSL_EMAXITER, "dgesdd_: the bidiagonal SVD did not converge (info %d)", info);
  return TL_SUCCESS;
}

int tl_linalg_svd(tl_linalg_svd_workspace *w, const gsl_matrix *A, gsl_matrix *U, gsl_vector *S,
                  gsl_matrix *V) {
  const size_t m = w->m, n = w->n, k = w->k;
  if (U != NULL && (U->size1 != m || U->size2 != k))
    TL_ERROR(GSL_EBADLEN, "tl_linalg_svd: U must be %zu x %zu", m, k);
  if (V != NULL && (V->size1 != n || V->size2 != k))
    TL_ERROR(GSL_EBADLEN, "tl_linalg_svd: V must be %zu x %zu", n, k);
  if (S != NULL && S->size != k)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_svd: S must have size %zu", k);
  TL_TRY(tl_svd_run(w, A, U != NULL || V != NULL));
  if (S != NULL)
    for (size_t j = 0; j < k; j++)
      gsl_vector_set(S, j, w->s[j]);
  if (U != NULL)
    for (size_t i = 0; i < m; i++)
      memcpy(U->data + i * U->tda, w->ut + i * k, k * sizeof *w->ut);
  if (V != NULL)
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < k; j++)
        gsl_matrix_set(V, i, j, w->vcm[j * n + i]);
  return TL_SUCCESS;
}

int tl_linalg_norm2(tl_linalg_svd_workspace *w, const gsl_matrix *A, double *norm) {
  TL_TRY(tl_svd_run(w, A, 0));
  *norm = w->s[0];
  return TL_SUCCESS;
}

int tl_linalg_pinv(tl_linalg_svd_workspace *w, const gsl_matrix *A, double rcond,
                   gsl_matrix *Aplus, size_t *rank) {
  const size_t m = w->m, n = w->n, k = w->k;
  if (Aplus->size1 != n || Aplus->size2 != m)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_pinv: A^+ must be %zu x %zu", n, m);
  if (!(rcond >= 0.0))
    TL_ERROR(GSL_EINVAL, "tl_linalg_pinv: rcond must be >= 0 (got %g)", rcond);
  TL_TRY(tl_svd_run(w, A, 1));
  const double cutoff = rcond * w->s[0];
  size_t r = 0;
  while (r < k && w->s[r] > cutoff)
    r++;
  if (rank != NULL)
    *rank = r;
  if (r == 0) {
    gsl_matrix_set_zero(Aplus);
    return TL_SUCCESS;
  }
  /* vcm read row-major is V^T (k x n): scale its row j by 1/s_j, then
   * A^+ = (V^T)_r^T (U_r)^T, with U = ut read row-major (m x k). */
  for (size_t j = 0; j < r; j++)
    cblas_dscal((int)n, 1.0 / w->s[j], w->vcm + j * n, 1);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)n, (int)m, (int)r, 1.0, w->vcm,
              (int)n, w->ut, (int)k, 0.0, Aplus->data, (int)Aplus->tda);
  return TL_SUCCESS;
}

/* ======================================================================== */
/* Least squares                                                            */
/* ======================================================================== */

tl_linalg_lstsq_workspace *tl_linalg_lstsq_alloc(size_t m, size_t n, size_t nrhs) {
  const size_t ldb = m > n ? m : n;
  if (m == 0 || n == 0 || nrhs == 0 || !tl_fits_int(ldb) || !tl_fits_int(nrhs) ||
      m > (size_t)INT_MAX / n || ldb > (size_t)INT_MAX / nrhs)
    TL_ERROR_NULL(GSL_EINVAL, "tl_linalg_lstsq_alloc: bad size %zu x %zu, %zu rhs", m, n, nrhs);
  tl_linalg_lstsq_workspace *w = calloc(1, sizeof *w);
  if (w == NULL)
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_lstsq_alloc: out of memory");
  w->m = m;
  w->n = n;
  w->nrhs = nrhs;
  w->ldb = ldb;
  w->a = malloc(m * n * sizeof *w->a);
  w->b = malloc(ldb * nrhs * sizeof *w->b);
  w->s = malloc((m < n ? m : n) * sizeof *w->s);
  if (w->a == NULL || w->b == NULL || w->s == NULL) {
    tl_linalg_lstsq_free(w);
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_lstsq_alloc: out of memory");
  }
  const int mi = (int)m, ni = (int)n, ri = (int)nrhs, ldbi = (int)ldb, query = -1;
  const double rcond = -1.0;
  int rank = 0, info = 0, iwork_query = 0;
  double work_query = 0.0;
  dgelsd_(&mi, &ni, &ri, w->a, &mi, w->b, &ldbi, w->s, &rcond, &rank, &work_query, &query,
          &iwork_query, &info);
  if (info != 0) {
    tl_linalg_lstsq_free(w);
    TL_ERROR_NULL(GSL_EFAILED, "dgelsd_ workspace query failed (info %d)", info);
  }
  w->lwork = tl_query_size(work_query);
  /* LAPACK >= 3.2.2 returns the minimal LIWORK in IWORK(1) on a query. */
  const size_t liwork = iwork_query > 0 ? (size_t)iwork_query : 64 * (m < n ? m : n) + 64;
  w->work = malloc((size_t)w->lwork * sizeof *w->work);
  w->iwork = malloc(liwork * sizeof *w->iwork);
  if (w->work == NULL || w->iwork == NULL) {
    tl_linalg_lstsq_free(w);
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_lstsq_alloc: out of memory");
  }
  return w;
}

void tl_linalg_lstsq_free(tl_linalg_lstsq_workspace *w) {
  if (w == NULL)
    return;
  free(w->a);
  free(w->b);
  free(w->s);
  free(w->work);
  free(w->iwork);
  free(w);
}

int tl_linalg_lstsq(tl_linalg_lstsq_workspace *w, const gsl_matrix *A, const gsl_matrix *B,
                    double rcond, gsl_matrix *X, size_t *rank, gsl_vector *S) {
  const size_t m = w->m, n = w->n, nrhs = w->nrhs, ldb = w->ldb;
  if (A->size1 != m || A->size2 != n || B->size1 != m || B->size2 != nrhs)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_lstsq: A %zu x %zu, B %zu x %zu do not match %zu x %zu, "
             "%zu rhs", A->size1, A->size2, B->size1, B->size2, m, n, nrhs);
  if (X->size1 != n || X->size2 != nrhs)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_lstsq: X must be %zu x %zu", n, nrhs);
  if (S != NULL && S->size != (m < n ? m : n))
    TL_ERROR(GSL_EBADLEN, "tl_linalg_lstsq: S must have size %zu", m < n ? m : n);
  /* A is not symmetric: transpose both A and B into column-major buffers. */
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++)
      w->a[j * m + i] = gsl_matrix_get(A, i, j);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < nrhs; j++)
      w->b[j * ldb + i] = gsl_matrix_get(B, i, j);
  const int mi = (int)m, ni = (int)n, ri = (int)nrhs, ldbi = (int)ldb;
  int r = 0, info = 0;
  dgelsd_(&mi, &ni, &ri, w->a, &mi, w->b, &ldbi, w->s, &rcond, &r, w->work, &w->lwork,
          w->iwork, &info);
  if (info < 0)
    TL_ERROR(GSL_EINVAL, "dgelsd_: argument %d is invalid", -info);
  if (info > 0)
    TL_ERROR(GSL_EMAXITER, "dgelsd_: the SVD did not converge (info %d)", info);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < nrhs; j++)
      gsl_matrix_set(X, i, j, w->b[j * ldb + i]);
  if (rank != NULL)
    *rank = (size_t)r;
  if (S != NULL)
    for (size_t i = 0; i < S->size; i++)
      gsl_vector_set(S, i, w->s[i]);
  return TL_SUCCESS;
}

/* ======================================================================== */
/* Cholesky, triangular and SPD solves                                      */
/* ======================================================================== */

static void tl_zero_strict_upper(gsl_matrix *A) {
  for (size_t i = 0; i < A->size1; i++)
    for (size_t j = i + 1; j < A->size2; j++)
      gsl_matrix_set(A, i, j, 0.0);
}

int tl_linalg_cholesky(gsl_matrix *A) {
  if (A->size1 != A->size2 || A->size1 == 0 || !tl_fits_int(A->size1) || !tl_fits_int(A->tda))
    TL_ERROR(GSL_ENOTSQR, "tl_linalg_cholesky: matrix is %zu x %zu", A->size1, A->size2);
  const int n = (int)A->size1, lda = (int)A->tda;
  int info = 0;
  /* Column-major upper U with U^T U = A is the row-major lower L = U^T. */
  dpotrf_("U", &n, A->data, &lda, &info, 1);
  if (info < 0)
    TL_ERROR(GSL_EINVAL, "dpotrf_: argument %d is invalid", -info);
  if (info > 0)
    TL_ERROR(GSL_EDOM, "tl_linalg_cholesky: matrix is not positive definite (minor %d)", info);
  tl_zero_strict_upper(A);
  return TL_SUCCESS;
}

int tl_linalg_trsm_lower(enum CBLAS_SIDE side, enum CBLAS_TRANSPOSE trans, const gsl_matrix *L,
                         gsl_matrix *B) {
  const size_t n = L->size1;
  if (L->size2 != n)
    TL_ERROR(GSL_ENOTSQR, "tl_linalg_trsm_lower: L is %zu x %zu", L->size1, L->size2);
  if ((side == CblasLeft ? B->size1 : B->size2) != n)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_trsm_lower: B is %zu x %zu, L is %zu x %zu", B->size1,
             B->size2, n, n);
  cblas_dtrsm(CblasRowMajor, side, CblasLower, trans, CblasNonUnit, (int)B->size1,
              (int)B->size2, 1.0, L->data, (int)L->tda, B->data, (int)B->tda);
  return TL_SUCCESS;
}

int tl_linalg_cholesky_solve(const gsl_matrix *L, gsl_matrix *B) {
  TL_TRY(tl_linalg_trsm_lower(CblasLeft, CblasNoTrans, L, B));
  return tl_linalg_trsm_lower(CblasLeft, CblasTrans, L, B);
}

int tl_linalg_cholesky_solve_vector(const gsl_matrix *L, gsl_vector *b) {
  if (L->size1 != L->size2 || b->size != L->size1)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_cholesky_solve_vector: L %zu x %zu, b %zu", L->size1,
             L->size2, b->size);
  if (b->stride != 1)
    TL_ERROR(GSL_EINVAL, "tl_linalg_cholesky_solve_vector: b must have stride 1");
  const int n = (int)L->size1, lda = (int)L->tda, one = 1;
  int info = 0;
  dpotrs_("U", &n, &one, L->data, &lda, b->data, &n, &info, 1);
  if (info != 0)
    TL_ERROR(GSL_EINVAL, "dpotrs_: argument %d is invalid", -info);
  return TL_SUCCESS;
}

int tl_linalg_spd_solve(gsl_matrix *A, gsl_vector *b) {
  if (A->size1 != A->size2 || b->size != A->size1)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_spd_solve: A %zu x %zu, b %zu", A->size1, A->size2,
             b->size);
  if (b->stride != 1)
    TL_ERROR(GSL_EINVAL, "tl_linalg_spd_solve: b must have stride 1");
  const int n = (int)A->size1, lda = (int)A->tda, one = 1;
  int info = 0;
  dposv_("U", &n, &one, A->data, &lda, b->data, &n, &info, 1);
  if (info < 0)
    TL_ERROR(GSL_EINVAL, "dposv_: argument %d is invalid", -info);
  if (info > 0)
    TL_ERROR(GSL_EDOM, "tl_linalg_spd_solve: matrix is not positive definite (minor %d)", info);
  tl_zero_strict_upper(A);
  return TL_SUCCESS;
}

/* ======================================================================== */
/* LU                                                                       */
/* ======================================================================== */

tl_linalg_lu *tl_linalg_lu_alloc(size_t n, size_t nrhs_max) {
  if (n == 0 || nrhs_max == 0 || !tl_fits_int(n) || n > (size_t)INT_MAX / n ||
      nrhs_max > (size_t)INT_MAX / n)
    TL_ERROR_NULL(GSL_EINVAL, "tl_linalg_lu_alloc: bad size %zu, %zu rhs", n, nrhs_max);
  tl_linalg_lu *lu = calloc(1, sizeof *lu);
  if (lu == NULL)
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_lu_alloc: out of memory");
  lu->n = n;
  lu->nrhs_max = nrhs_max;
  lu->lu = malloc(n * n * sizeof *lu->lu);
  lu->ipiv = malloc(n * sizeof *lu->ipiv);
  lu->b = malloc(n * nrhs_max * sizeof *lu->b);
  if (lu->lu == NULL || lu->ipiv == NULL || lu->b == NULL) {
    tl_linalg_lu_free(lu);
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_lu_alloc: out of memory");
  }
  return lu;
}

void tl_linalg_lu_free(tl_linalg_lu *lu) {
  if (lu == NULL)
    return;
  free(lu->lu);
  free(lu->ipiv);
  free(lu->b);
  free(lu);
}

int tl_linalg_lu_factor(tl_linalg_lu *lu, const gsl_matrix *A) {
  const size_t n = lu->n;
  if (A->size1 != n || A->size2 != n)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_lu_factor: A is %zu x %zu, workspace %zu", A->size1,
             A->size2, n);
  /* The row-major copy is A^T column-major: factor that, and solve with
   * TRANS='T', which needs no transposition of A at all. */
  for (size_t i = 0; i < n; i++)
    memcpy(lu->lu + i * n, A->data + i * A->tda, n * sizeof *lu->lu);
  const int ni = (int)n;
  int info = 0;
  dgetrf_(&ni, &ni, lu->lu, &ni, lu->ipiv, &info);
  lu->factored = 1;
  if (info < 0)
    TL_ERROR(GSL_EINVAL, "dgetrf_: argument %d is invalid", -info);
  if (info > 0)
    TL_ERROR(GSL_ESING, "tl_linalg_lu_factor: matrix is singular (zero pivot %d)", info);
  return TL_SUCCESS;
}

int tl_linalg_lu_solve(const tl_linalg_lu *lu, gsl_vector *b) {
  if (!lu->factored)
    TL_ERROR(GSL_EINVAL, "tl_linalg_lu_solve: no factor");
  if (b->size != lu->n || b->stride != 1)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_lu_solve: b must have size %zu and stride 1", lu->n);
  const int ni = (int)lu->n, one = 1;
  int info = 0;
  dgetrs_("T", &ni, &one, lu->lu, &ni, lu->ipiv, b->data, &ni, &info, 1);
  if (info != 0)
    TL_ERROR(GSL_EINVAL, "dgetrs_: argument %d is invalid", -info);
  return TL_SUCCESS;
}

int tl_linalg_lu_solve_matrix(tl_linalg_lu *lu, gsl_matrix *B) {
  const size_t n = lu->n, nrhs = B->size2;
  if (!lu->factored)
    TL_ERROR(GSL_EINVAL, "tl_linalg_lu_solve_matrix: no factor");
  if (B->size1 != n || nrhs > lu->nrhs_max)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_lu_solve_matrix: B is %zu x %zu (n %zu, nrhs_max %zu)",
             B->size1, nrhs, n, lu->nrhs_max);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < nrhs; j++)
      lu->b[j * n + i] = gsl_matrix_get(B, i, j);
  const int ni = (int)n, ri = (int)nrhs;
  int info = 0;
  dgetrs_("T", &ni, &ri, lu->lu, &ni, lu->ipiv, lu->b, &ni, &info, 1);
  if (info != 0)
    TL_ERROR(GSL_EINVAL, "dgetrs_: argument %d is invalid", -info);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < nrhs; j++)
      gsl_matrix_set(B, i, j, lu->b[j * n + i]);
  return TL_SUCCESS;
}

double tl_linalg_lu_det(const tl_linalg_lu *lu) {
  double det = 1.0;
  for (size_t i = 0; i < lu->n; i++) {
    det *= lu->lu[i * lu->n + i];
    if (lu->ipiv[i] != (int)i + 1)
      det = -det;
  }
  return det;
}

/* ======================================================================== */
/* Haar orthogonal matrix                                                   */
/* ======================================================================== */

tl_linalg_haar_workspace *tl_linalg_haar_alloc(size_t n) {
  if (n == 0 || !tl_fits_int(n) || n > (size_t)INT_MAX / n)
    TL_ERROR_NULL(GSL_EINVAL, "tl_linalg_haar_alloc: bad size %zu", n);
  tl_linalg_haar_workspace *w = calloc(1, sizeof *w);
  if (w == NULL)
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_haar_alloc: out of memory");
  w->n = n;
  w->a = malloc(n * n * sizeof *w->a);
  w->tau = malloc(n * sizeof *w->tau);
  w->rdiag = malloc(n * sizeof *w->rdiag);
  if (w->a == NULL || w->tau == NULL || w->rdiag == NULL) {
    tl_linalg_haar_free(w);
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_haar_alloc: out of memory");
  }
  const int ni = (int)n, query = -1;
  int info1 = 0, info2 = 0;
  double q1 = 0.0, q2 = 0.0;
  dgeqrf_(&ni, &ni, w->a, &ni, w->tau, &q1, &query, &info1);
  dorgqr_(&ni, &ni, &ni, w->a, &ni, w->tau, &q2, &query, &info2);
  if (info1 != 0 || info2 != 0) {
    tl_linalg_haar_free(w);
    TL_ERROR_NULL(GSL_EFAILED, "dgeqrf_/dorgqr_ workspace query failed");
  }
  w->lwork = tl_query_size(q1 > q2 ? q1 : q2);
  w->work = malloc((size_t)w->lwork * sizeof *w->work);
  if (w->work == NULL) {
    tl_linalg_haar_free(w);
    TL_ERROR_NULL(GSL_ENOMEM, "tl_linalg_haar_alloc: out of memory");
  }
  return w;
}

void tl_linalg_haar_free(tl_linalg_haar_workspace *w) {
  if (w == NULL)
    return;
  free(w->a);
  free(w->tau);
  free(w->rdiag);
  free(w->work);
  free(w);
}

int tl_linalg_haar_orthogonal(tl_linalg_haar_workspace *w, gsl_rng *rng, gsl_matrix *R) {
  const size_t n = w->n;
  if (R->size1 != n || R->size2 != n)
    TL_ERROR(GSL_EBADLEN, "tl_linalg_haar_orthogonal: R must be %zu x %zu", n, n);
  /* Draw G row-major (the order the spec fixes) into column-major storage,
   * so that LAPACK factors G itself and not G^T. */
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      w->a[j * n + i] = gsl_ran_gaussian(rng, 1.0);
  const int ni = (int)n;
  int info = 0;
  dgeqrf_(&ni, &ni, w->a, &ni, w->tau, w->work, &w->lwork, &info);
  if (info != 0)
    TL_ERROR(GSL_EINVAL, "dgeqrf_: argument %d is invalid", -info);
  for (size_t k = 0; k < n; k++)
    w->rdiag[k] = w->a[k * n + k];
  dorgqr_(&ni, &ni, &ni, w->a, &ni, w->tau, w->work, &w->lwork, &info);
  if (info != 0)
    TL_ERROR(GSL_EINVAL, "dorgqr_: argument %d is invalid", -info);
  for (size_t k = 0; k < n; k++) {
    const double sign = w->rdiag[k] < 0.0 ? -1.0 : 1.0;
    for (size_t i = 0; i < n; i++)
      gsl_matrix_set(R, i, k, sign * w->a[k * n + i]);
  }
  return TL_SUCCESS;
}

/* ======================================================================== */
/* Small helpers                                                            */
/* ======================================================================== */

double tl_linalg_frobenius(const gsl_matrix *A) {
  double norm = 0.0;
  for (size_t i = 0; i < A->size1; i++)
    norm = hypot(norm, cblas_dnrm2((int)A->size2, A->data + i * A->tda, 1));
  return norm;
}

double tl_linalg_frobenius_diff(const gsl_matrix *A, const gsl_matrix *B) {
  /* Two passes, scaled by the largest entry, as LAPACK's dlassq does in one:
   * squares of tiny differences would underflow, of huge ones overflow. */
  double scale = 0.0;
  for (size_t i = 0; i < A->size1; i++)
    for (size_t j = 0; j < A->size2; j++) {
      const double d = fabs(gsl_matrix_get(A, i, j) - gsl_matrix_get(B, i, j));
      if (d > scale)
        scale = d;
    }
  if (scale == 0.0 || !isfinite(scale))
    return scale;
  double sum = 0.0;
  for (size_t i = 0; i < A->size1; i++)
    for (size_t j = 0; j < A->size2; j++) {
      const double d = (gsl_matrix_get(A, i, j) - gsl_matrix_get(B, i, j)) / scale;
      sum += d * d;
    }
  return scale * sqrt(sum);
}

int tl_linalg_blas_info(tl_blas_info *info) {
  memset(info, 0, sizeof *info);
  /* Ask the dynamic linker where the definition our calls bind to lives.
   * dlsym(RTLD_DEFAULT) returns the definition even in a non-PIE executable,
   * where the address of cblas_dgemm taken in C would be a PLT entry inside
   * the executable itself. */
  void *address = dlsym(RTLD_DEFAULT, "cblas_dgemm");
  if (address == NULL) {
    void (*function)(void) = (void (*)(void))cblas_dgemm;
    memcpy(&address, &function, sizeof address); /* ISO C has no function-to-object cast */
  }
  Dl_info dl;
  if (dladdr(address, &dl) == 0 || dl.dli_fname == NULL)
    TL_ERROR(TL_EPRECOND, "dladdr cannot name the library that defines cblas_dgemm");
  /* Resolve symlinks (libopenblas.so.0 -> alternatives -> libopenblasp-r0.3.21.so). */
  char *real = realpath(dl.dli_fname, NULL);
  snprintf(info->library, sizeof info->library, "%s", real != NULL ? real : dl.dli_fname);
  free(real);
  const char *core = openblas_get_corename();
  const char *config = openblas_get_config();
  snprintf(info->corename, sizeof info->corename, "%s", core != NULL ? core : "");
  snprintf(info->config, sizeof info->config, "%s", config != NULL ? config : "");
  info->threads = openblas_get_num_threads();
  return TL_SUCCESS;
}

int tl_linalg_set_threads(int n) {
  if (n < 1)
    TL_ERROR(GSL_EINVAL, "tl_linalg_set_threads: need at least one thread (got %d)", n);
  openblas_set_num_threads(n);
  return TL_SUCCESS;
}

/* tl_linalg: thin helpers over gsl_matrix / gsl_vector, CBLAS and LAPACK.
 *
 * What the five chapters need from dense linear algebra, and no more:
 * symmetric eigenvalues (dsyevr_: Hessian spectra, kernel ranks), the thin SVD
 * (dgesdd_: the class-average pseudo-inverse Pen = V S^-1 U^T of chapter 1
 * §3.1, spectral norms, null spaces), least squares with a rank cutoff
 * (dgelsd_: C_int and C_noint of chapter 1 §3.4), Cholesky factors and
 * triangular solves (dpotrf_ + cblas_dtrsm: L L^T = D + S of chapter 1 §3.5),
 * SPD and LU solves (Newton steps), a Haar-distributed orthogonal matrix
 * (chapter 1 §2, "Other streams, 4"), and a report of which BLAS is bound.
 *
 * Layout.  GSL matrices are row-major, LAPACK is column-major.  A row-major
 * m x n array is, read column-major, its transpose (n x m, leading dimension
 * tda).  Every routine below states which of the two it hands to LAPACK and
 * why; symmetric matrices need no care, all others are either transposed into
 * a workspace buffer or solved in transposed form.  The unit test uses
 * non-square, non-symmetric matrices throughout so that a forgotten
 * transposition cannot hide (chapter 1 pitfall 9).
 *
 * Workspaces.  Each LAPACK driver gets a workspace allocated once for a
 * problem size, with the optimal LWORK queried once at allocation; calls do no
 * allocation, so they can sit in loops.  Every _alloc has a _free, and
 * _free(NULL) is a no-op.  Functions that can fail return an int status: 0, a
 * GSL code (GSL_EBADLEN for mismatched sizes, GSL_EDOM for a matrix that is
 * not positive definite, as GSL's own Cholesky reports it, GSL_ESING for an
 * exactly singular LU factor, GSL_EMAXITER when LAPACK's iteration does not
 * converge, GSL_EINVAL for bad arguments) with a reason recorded by TL_ERROR.
 *
 * CBLAS comes from GSL's declarations (<gsl/gsl_cblas.h>); the symbols are
 * resolved by OpenBLAS at link time (libgslcblas is deliberately not linked).
 */
#ifndef TL_LINALG_H
#define TL_LINALG_H

#include <stddef.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>

/* ------------------------------------------------------------------------ */
/* LAPACK, Fortran 77 interface (LP64: INTEGER is int).                     */
/*                                                                          */
/* gfortran passes the length of every CHARACTER argument as a hidden       */
/* argument after the visible ones, of type size_t since GCC 8.  Omitting   */
/* them works by accident on x86-64 until LAPACK is built with an           */
/* optimisation that reads them, so they are declared here and every call   */
/* passes 1 for each one-letter option.  OpenBLAS's C reimplementations     */
/* (dpotrf_, dgetrf_, dgetrs_) ignore them, which the C calling convention  */
/* makes harmless.                                                          */
/* ------------------------------------------------------------------------ */

void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a,
             const int *lda, const double *vl, const double *vu, const int *il, const int *iu,
             const double *abstol, int *m, double *w, double *z, const int *ldz, int *isuppz,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t range_len, size_t uplo_len);
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work,
             const int *lwork, int *iwork, int *info, size_t jobz_len);
void dgelsd_(const int *m, const int *n, const int *nrhs, double *a, const int *lda, double *b,
             const int *ldb, double *s, const double *rcond, int *rank, double *work,
             const int *lwork, int *iwork, int *info);
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda, double *b,
            const int *ldb, int *info, size_t uplo_len);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info,
             size_t uplo_len);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda,
             double *b, const int *ldb, int *info, size_t uplo_len);
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work,
             const int *lwork, int *info);
void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
             const double *tau, double *work, const int *lwork, int *info);
void dgetrf_(const int *m, const int *n, double *a, const int *lda, int *ipiv, int *info);
void dgetrs_(const char *trans, const int *n, const int *nrhs, const double *a, const int *lda,
             const int *ipiv, double *b, const int *ldb, int *info, size_t trans_len);

/* OpenBLAS extensions (exported by libopenblas; no header is included so that
 * OpenBLAS's cblas.h never meets GSL's). */
char *openblas_get_corename(void);
char *openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);

/* ------------------------------------------------------------------------ */
/* Symmetric eigenproblem (dsyevr_).                                        */
/* ------------------------------------------------------------------------ */

typedef struct {
  size_t n;
  double *a;      /* n*n copy of the input (dsyevr_ destroys it) */
  double *values; /* n eigenvalues (eval may be strided) */
  double *z;      /* n*n eigenvectors, column-major */
  int *isuppz;  /* 2n */
  double *work;
  int *iwork;
  int lwork, liwork;
} tl_linalg_eigen_workspace;

tl_linalg_eigen_workspace *tl_linalg_eigen_alloc(size_t n);
void tl_linalg_eigen_free(tl_linalg_eigen_workspace *w);

/* All eigenvalues of the symmetric n x n matrix A, ascending, into eval (size
 * n); when evec is not NULL, the orthonormal eigenvectors as its columns
 * (A evec[:,k] = eval[k] evec[:,k]).  Only the lower triangle of A (row-major)
 * is read; A is not modified.  The absolute tolerance is the safe minimum, the
 * choice LAPACK recommends for the most accurate eigenvalues. */
int tl_linalg_eigen_symm(tl_linalg_eigen_workspace *w, const gsl_matrix *A, gsl_vector *eval,
                         gsl_matrix *evec);

/* ------------------------------------------------------------------------ */
/* Thin SVD (dgesdd_), spectral norm, pseudo-inverse.                       */
/* ------------------------------------------------------------------------ */

typedef struct {
  size_t m, n, k; /* A is m x n, k = min(m, n) */
  double *a;      /* m*n copy of A (row-major, i.e. A^T column-major) */
  double *s;      /* k singular values, descending */
  double *vcm;    /* n*k: left vectors of A^T = V, column-major (= V^T row-major) */
  double *ut;     /* k*m: right vectors of A^T = U^T, column-major (= U row-major) */
  double *work;
  int *iwork;
  int lwork;
} tl_linalg_svd_workspace;

tl_linalg_svd_workspace *tl_linalg_svd_alloc(size_t m, size_t n);
void tl_linalg_svd_free(tl_linalg_svd_workspace *w);

/* Thin SVD A = U diag(S) V^T of the m x n matrix A: U is m x k, S has k
 * values in descending order, V is n x k, k = min(m, n).  Any of U, S, V may
 * be NULL; with U and V both NULL only values are computed (JOBZ='N'). */
int tl_linalg_svd(tl_linalg_svd_workspace *w, const gsl_matrix *A, gsl_matrix *U, gsl_vector *S,
                  gsl_matrix *V);

/* Spectral norm ||A|| = s_max (0 for a zero matrix). */
int tl_linalg_norm2(tl_linalg_svd_workspace *w, const gsl_matrix *A, double *norm);

/* Moore-Penrose pseudo-inverse A^+ (n x m) = V S^+ U^T, keeping singular
 * values s_j > rcond * s_max (numpy's convention); rank (may be NULL) receives
 * the number kept.  An rcond of the order of max(m,n) * DBL_EPSILON is the
 * usual default. */
int tl_linalg_pinv(tl_linalg_svd_workspace *w, const gsl_matrix *A, double rcond,
                   gsl_matrix *Aplus, size_t *rank);

/* ------------------------------------------------------------------------ */
/* Least squares min ||A X - B||_F (dgelsd_).                               */
/* ------------------------------------------------------------------------ */

typedef struct {
  size_t m, n, nrhs, ldb;
  double *a; /* m*n, column-major */
  double *b; /* ldb*nrhs, column-major, ldb = max(m, n) */
  double *s; /* min(m, n) singular values */
  double *work;
  int *iwork;
  int lwork;
} tl_linalg_lstsq_workspace;

tl_linalg_lstsq_workspace *tl_linalg_lstsq_alloc(size_t m, size_t n, size_t nrhs);
void tl_linalg_lstsq_free(tl_linalg_lstsq_workspace *w);

/* Minimum-norm solution X (n x nrhs) of min ||A X - B||_F for A m x n and
 * B m x nrhs; singular values s_i <= rcond * s_1 count as zero (rcond < 0:
 * machine precision, as in LAPACK).  rank (may be NULL) receives the
 * effective rank, S (may be NULL, size min(m,n)) the singular values of A.
 * The residual is left to the caller, who should compute it explicitly as
 * A X - B: dgelsd_'s residual rows are only available when m > n and rank is
 * full, and an explicit residual is what chapter 1 §3.4 asks for. */
int tl_linalg_lstsq(tl_linalg_lstsq_workspace *w, const gsl_matrix *A, const gsl_matrix *B,
                    double rcond, gsl_matrix *X, size_t *rank, gsl_vector *S);

/* ------------------------------------------------------------------------ */
/* Cholesky, triangular solves, SPD solve.                                  */
/* ------------------------------------------------------------------------ */

/* In place: the symmetric positive definite A becomes its Cholesky factor L
 * (lower triangle, A = L L^T); the strict upper triangle is set to zero so
 * that A can be used as a plain matrix afterwards.  Only the lower triangle
 * of A is read.  GSL_EDOM if A is not positive definite (A is then partly
 * overwritten).  dpotrf_ is asked for the upper factor of the column-major
 * reading, which is the lower factor of the row-major matrix. */
int tl_linalg_cholesky(gsl_matrix *A);

/* Triangular solve with the lower-triangular L, in place on B (cblas_dtrsm):
 * side CblasLeft solves op(L) X = B, CblasRight solves X op(L) = B, with
 * op(L) = L (CblasNoTrans) or L^T (CblasTrans).  Chapter 1 §3.5 needs
 * L^-1 S Y^T (left, no transpose) and Y D L^-T L^-1 Pen (right solves). */
int tl_linalg_trsm_lower(enum CBLAS_SIDE side, enum CBLAS_TRANSPOSE trans, const gsl_matrix *L,
                         gsl_matrix *B);

/* Solve (L L^T) X = B in place on B (n x nrhs), L from tl_linalg_cholesky:
 * two triangular solves. */
int tl_linalg_cholesky_solve(const gsl_matrix *L, gsl_matrix *B);

/* Solve (L L^T) x = b in place (dpotrs_); b must have stride 1. */
int tl_linalg_cholesky_solve_vector(const gsl_matrix *L, gsl_vector *b);

/* Solve the SPD system A x = b in place on b (dposv_); A is overwritten by
 * its Cholesky factor as tl_linalg_cholesky leaves it; b must have stride 1.
 * GSL_EDOM if A is not positive definite. */
int tl_linalg_spd_solve(gsl_matrix *A, gsl_vector *b);

/* ------------------------------------------------------------------------ */
/* LU with partial pivoting (dgetrf_ / dgetrs_).                            */
/* ------------------------------------------------------------------------ */

typedef struct {
  size_t n, nrhs_max;
  double *lu;   /* n*n: the factor of A^T (the column-major reading of A) */
  int *ipiv;    /* n */
  double *b;    /* n*nrhs_max column-major right-hand sides */
  int factored;
} tl_linalg_lu;

/* nrhs_max bounds the columns of a matrix right-hand side (1 if only vectors
 * are solved). */
tl_linalg_lu *tl_linalg_lu_alloc(size_t n, size_t nrhs_max);
void tl_linalg_lu_free(tl_linalg_lu *lu);

/* Factor the square A (not modified).  GSL_ESING if A is exactly singular
 * (a zero pivot); the factor is kept anyway, so tl_linalg_lu_det returns 0. */
int tl_linalg_lu_factor(tl_linalg_lu *lu, const gsl_matrix *A);

/* Solve A x = b in place; b must have stride 1.  Since lu holds the factor of
 * A^T, this is dgetrs_ with TRANS='T'. */
int tl_linalg_lu_solve(const tl_linalg_lu *lu, gsl_vector *b);

/* Solve A X = B in place on B (n x nrhs, nrhs <= nrhs_max). */
int tl_linalg_lu_solve_matrix(tl_linalg_lu *lu, gsl_matrix *B);

/* det A from the factor (product of the pivots with the permutation's sign);
 * may overflow for large n, which is why it is not used for log-det. */
double tl_linalg_lu_det(const tl_linalg_lu *lu);

/* ------------------------------------------------------------------------ */
/* Haar-distributed orthogonal matrix (dgeqrf_ / dorgqr_).                  */
/* ------------------------------------------------------------------------ */

typedef struct {
  size_t n;
  double *a;   /* n*n column-major: G, then Q */
  double *tau; /* n */
  double *rdiag; /* n: diagonal of R, saved before dorgqr_ overwrites it */
  double *work;
  int lwork;
} tl_linalg_haar_workspace;

tl_linalg_haar_workspace *tl_linalg_haar_alloc(size_t n);
void tl_linalg_haar_free(tl_linalg_haar_workspace *w);

/* R (n x n) Haar-distributed on O(n), exactly as chapter 1 §2 "Other streams,
 * 4" prescribes: fill G (n x n) with gsl_ran_gaussian(rng, 1.0) in row-major
 * order (G(0,0), G(0,1), ...), G = Q R by dgeqrf_/dorgqr_, and multiply column
 * k of Q by sign(R_kk) (+1 for R_kk = 0, an event of probability zero).  The
 * sign fix makes the factorisation unique (R with positive diagonal), which
 * is what makes Q Haar (Mezzadri 2007).  Equals numpy's
 * q, r = qr(G); q * sign(diag(r)) on the same G. */
int tl_linalg_haar_orthogonal(tl_linalg_haar_workspace *w, gsl_rng *rng, gsl_matrix *R);

/* ------------------------------------------------------------------------ */
/* Small helpers.                                                           */
/* ------------------------------------------------------------------------ */

/* Maximum and minimum that propagate NaN (C's fmax and fmin drop a NaN
 * argument, which would let a broken computation vanish from a claim's
 * worst case). */
static inline double tl_max_nan(double a, double b) {
  return (a != a || b != b) ? a + b : (a > b ? a : b);
}
static inline double tl_min_nan(double a, double b) {
  return (a != a || b != b) ? a + b : (a < b ? a : b);
}

/* Frobenius norm ||A||_F, computed without overflow (row norms by dnrm2,
 * combined by hypot). */
double tl_linalg_frobenius(const gsl_matrix *A);

/* ||A - B||_F for matrices of the same shape (no temporary). */
double tl_linalg_frobenius_diff(const gsl_matrix *A, const gsl_matrix *B);

/* Which BLAS the program really runs, for provenance and for the unit test
 * that fails if the reference libgslcblas were bound instead of OpenBLAS. */
typedef struct {
  char library[1024]; /* path of the shared object defining cblas_dgemm (dladdr) */
  char corename[64];  /* openblas_get_corename(), e.g. "Haswell" */
  char config[256];   /* openblas_get_config(): version and build options */
  int threads;        /* openblas_get_num_threads() */
} tl_blas_info;

/* Fill info; TL_EPRECOND if dladdr cannot name the library. */
int tl_linalg_blas_info(tl_blas_info *info);

/* Set OpenBLAS's thread count (chapters' --threads); GSL_EINVAL if n < 1. */
int tl_linalg_set_threads(int n);

#endif

/* Unit test of tl_linalg: properties of each decomposition on non-square,
 * non-symmetric matrices with high-entropy entries, so that a row-/column-
 * major mix-up cannot hide behind a symmetric or square example.  Tolerances
 * are multiples of DBL_EPSILON times the problem size (and the condition
 * number where backward error turns into forward error). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_test.h>

#include "tl_error.h"
#include "tl_linalg.h"
#include "tl_rng.h"

/* Deterministic, irregular entries: no symmetry, no repeated values. */
static void fill(gsl_matrix *A, double phase) {
  for (size_t i = 0; i < A->size1; i++)
    for (size_t j = 0; j < A->size2; j++)
      gsl_matrix_set(A, i, j,
                     2.385 * sin(1.3 * (double)(i + 1) + 0.7 * (double)((j + 1) * (j + 2)) +
                                 phase) +
                         0.25 * cos(0.9 * (double)(i * j) + 0.1 * phase));
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* ||Q^T Q - I||_F for the columns of Q. */
static double orthogonality_error(const gsl_matrix *Q) {
  gsl_matrix *G = gsl_matrix_alloc(Q->size2, Q->size2);
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, Q, Q, 0.0, G);
  gsl_matrix *I = gsl_matrix_alloc(Q->size2, Q->size2);
  gsl_matrix_set_identity(I);
  const double e = tl_linalg_frobenius_diff(G, I);
  gsl_matrix_free(G);
  gsl_matrix_free(I);
  return e;
}

/* ||A B - C||_F, with A and B optionally transposed. */
static double product_error(CBLAS_TRANSPOSE_t ta, const gsl_matrix *A, CBLAS_TRANSPOSE_t tb,
                            const gsl_matrix *B, const gsl_matrix *C) {
  gsl_matrix *P = gsl_matrix_alloc(C->size1, C->size2);
  gsl_blas_dgemm(ta, tb, 1.0, A, B, 0.0, P);
  const double e = tl_linalg_frobenius_diff(P, C);
  gsl_matrix_free(P);
  return e;
}

static void test_svd(size_t m, size_t n) {
  const size_t k = m < n ? m : n;
  const double tol = 16.0 * (double)max_size(m, n) * DBL_EPSILON;
  gsl_matrix *A = gsl_matrix_alloc(m, n), *U = gsl_matrix_alloc(m, k),
             *V = gsl_matrix_alloc(n, k), *US = gsl_matrix_alloc(m, k);
  gsl_vector *S = gsl_vector_alloc(k), *S2 = gsl_vector_alloc(k);
  fill(A, 0.37);
  tl_linalg_svd_workspace *w = tl_linalg_svd_alloc(m, n);
  gsl_test(w == NULL, "svd %zux%zu: workspace", m, n);
  gsl_test(tl_linalg_svd(w, A, U, S, V), "svd %zux%zu: status", m, n);
  const double normA = tl_linalg_frobenius(A);
  gsl_matrix_memcpy(US, U);
  for (size_t j = 0; j < k; j++) {
    gsl_vector_view col = gsl_matrix_column(US, j);
    gsl_vector_scale(&col.vector, gsl_vector_get(S, j));
  }
  gsl_test_abs(product_error(CblasNoTrans, US, CblasTrans, V, A) / normA, 0.0, tol,
               "svd %zux%zu: ||U S V^T - A||_F / ||A||_F", m, n);
  gsl_test_abs(orthogonality_error(U), 0.0, tol, "svd %zux%zu: U^T U = I", m, n);
  gsl_test_abs(orthogonality_error(V), 0.0, tol, "svd %zux%zu: V^T V = I", m, n);
  int descending = 1;
  for (size_t j = 1; j < k; j++)
    descending &= gsl_vector_get(S, j) <= gsl_vector_get(S, j - 1);
  gsl_test(!descending || gsl_vector_get(S, k - 1) < 0.0,
           "svd %zux%zu: values non-negative and descending", m, n);
  /* Values only (JOBZ='N') agree with the full run. */
  gsl_test(tl_linalg_svd(w, A, NULL, S2, NULL), "svd %zux%zu: values-only status", m, n);
  for (size_t j = 0; j < k; j++)
    gsl_test_rel(gsl_vector_get(S2, j), gsl_vector_get(S, j), tol * gsl_vector_get(S, 0) /
                 gsl_vector_get(S, j), "svd %zux%zu: values-only s_%zu", m, n, j);
  /* Sum of squares of singular values is ||A||_F^2. */
  double sum = 0.0;
  for (size_t j = 0; j < k; j++)
    sum += gsl_vector_get(S, j) * gsl_vector_get(S, j);
  gsl_test_rel(sqrt(sum), normA, tol, "svd %zux%zu: |s|_2 = ||A||_F", m, n);
  double norm2 = 0.0;
  gsl_test(tl_linalg_norm2(w, A, &norm2), "svd %zux%zu: norm2 status", m, n);
  gsl_test_rel(norm2, gsl_vector_get(S, 0), tol, "svd %zux%zu: ||A|| = s_max", m, n);
  /* ||A v_1|| = s_1 for the top right singular vector. */
  gsl_vector *Av = gsl_vector_alloc(m);
  gsl_vector_const_view v1 = gsl_matrix_const_column(V, 0);
  gsl_blas_dgemv(CblasNoTrans, 1.0, A, &v1.vector, 0.0, Av);
  gsl_test_rel(gsl_blas_dnrm2(Av), norm2, tol, "svd %zux%zu: |A v_1| = ||A||", m, n);
  gsl_vector_free(Av);
  tl_linalg_svd_free(w);
  gsl_matrix_free(A);
  gsl_matrix_free(U);
  gsl_matrix_free(V);
  gsl_matrix_free(US);
  gsl_vector_free(S);
  gsl_vector_free(S2);
}

static void test_eigen(void) {
  /* Tridiagonal Toeplitz: eigenvalues a + 2b cos(k pi / (n+1)), k = 1..n. */
  const size_t n = 9;
  const double a = 2.385, b = -0.731, tol = 16.0 * (double)n * DBL_EPSILON;
  gsl_matrix *T = gsl_matrix_calloc(n, n), *V = gsl_matrix_alloc(n, n);
  gsl_vector *eval = gsl_vector_alloc(n), *eval2 = gsl_vector_alloc(n);
  for (size_t i = 0; i < n; i++) {
    gsl_matrix_set(T, i, i, a);
    if (i + 1 < n) {
      gsl_matrix_set(T, i, i + 1, b);
      gsl_matrix_set(T, i + 1, i, b);
    }
  }
  tl_linalg_eigen_workspace *w = tl_linalg_eigen_alloc(n);
  gsl_test(tl_linalg_eigen_symm(w, T, eval, V), "eigen: status");
  for (size_t k = 0; k < n; k++) {
    /* b < 0, so ascending order is k = 1..n. */
    const double exact = a + 2.0 * b * cos((double)(k + 1) * M_PI / (double)(n + 1));
    gsl_test_abs(gsl_vector_get(eval, k), exact, tol * (fabs(a) + 2.0 * fabs(b)),
                 "eigen: tridiagonal lambda_%zu closed form", k);
  }
  /* A general symmetric matrix: A V = V Lambda, V orthogonal, trace. */
  gsl_matrix *B = gsl_matrix_alloc(7, n), *S = gsl_matrix_alloc(n, n),
             *SV = gsl_matrix_alloc(n, n), *VL = gsl_matrix_alloc(n, n);
  fill(B, 1.1);
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, B, B, 0.0, S);
  for (size_t i = 0; i < n; i++)
    gsl_matrix_set(S, i, i, gsl_matrix_get(S, i, i) - 3.14); /* indefinite */
  gsl_test(tl_linalg_eigen_symm(w, S, eval, V), "eigen: general status");
  const double normS = tl_linalg_frobenius(S);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, S, V, 0.0, SV);
  gsl_matrix_memcpy(VL, V);
  for (size_t k = 0; k < n; k++) {
    gsl_vector_view col = gsl_matrix_column(VL, k);
    gsl_vector_scale(&col.vector, gsl_vector_get(eval, k));
  }
  gsl_test_abs(tl_linalg_frobenius_diff(SV, VL) / normS, 0.0, tol,
               "eigen: ||A V - V Lambda||_F / ||A||_F");
  gsl_test_abs(orthogonality_error(V), 0.0, tol, "eigen: V^T V = I");
  int ascending = 1;
  double trace = 0.0, sum = 0.0;
  for (size_t k = 0; k < n; k++) {
    if (k > 0)
      ascending &= gsl_vector_get(eval, k) >= gsl_vector_get(eval, k - 1);
    trace += gsl_matrix_get(S, k, k);
    sum += gsl_vector_get(eval, k);
  }
  gsl_test(!ascending, "eigen: ascending order");
  gsl_test(gsl_vector_get(eval, 0) >= 0.0, "eigen: the shifted Gram matrix is indefinite");
  gsl_test_abs(sum, trace, tol * normS, "eigen: sum of eigenvalues = trace");
  /* Values only, and only the lower triangle is read. */
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      gsl_matrix_set(S, i, j, 1e300);
  gsl_test(tl_linalg_eigen_symm(w, S, eval2, NULL), "eigen: values-only status");
  double diff = 0.0;
  for (size_t k = 0; k < n; k++)
    diff = fmax(diff, fabs(gsl_vector_get(eval2, k) - gsl_vector_get(eval, k)));
  gsl_test_abs(diff, 0.0, tol * normS, "eigen: values only, upper triangle ignored");
  tl_linalg_eigen_free(w);
  gsl_matrix_free(T);
  gsl_matrix_free(V);
  gsl_matrix_free(B);
  gsl_matrix_free(S);
  gsl_matrix_free(SV);
  gsl_matrix_free(VL);
  gsl_vector_free(eval);
  gsl_vector_free(eval2);
}

/* Moore-Penrose identities for A (m x n) and its pseudo-inverse P (n x m). */
static void test_penrose(const gsl_matrix *A, const gsl_matrix *P, double tol,
                         const char *label) {
  const size_t m = A->size1, n = A->size2;
  gsl_matrix *AP = gsl_matrix_alloc(m, m), *PA = gsl_matrix_alloc(n, n),
             *APA = gsl_matrix_alloc(m, n), *PAP = gsl_matrix_alloc(n, m);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, A, P, 0.0, AP);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, P, A, 0.0, PA);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, AP, A, 0.0, APA);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, PA, P, 0.0, PAP);
  gsl_test_abs(tl_linalg_frobenius_diff(APA, A) / tl_linalg_frobenius(A), 0.0, tol,
               "pinv %s: A A+ A = A", label);
  gsl_test_abs(tl_linalg_frobenius_diff(PAP, P) / tl_linalg_frobenius(P), 0.0, tol,
               "pinv %s: A+ A A+ = A+", label);
  gsl_matrix *T = gsl_matrix_alloc(m, m);
  gsl_matrix_transpose_memcpy(T, AP);
  gsl_test_abs(tl_linalg_frobenius_diff(T, AP), 0.0, tol * (double)m, "pinv %s: (A A+)^T = A A+",
               label);
  gsl_matrix_free(T);
  T = gsl_matrix_alloc(n, n);
  gsl_matrix_transpose_memcpy(T, PA);
  gsl_test_abs(tl_linalg_frobenius_diff(T, PA), 0.0, tol * (double)n, "pinv %s: (A+ A)^T = A+ A",
               label);
  gsl_matrix_free(T);
  gsl_matrix_free(AP);
  gsl_matrix_free(PA);
  gsl_matrix_free(APA);
  gsl_matrix_free(PAP);
}

static void test_lstsq_pinv(void) {
  const size_t m = 11, n = 4, nrhs = 3;
  /* Condition number of A is O(10): forward errors of order cond^2 eps. */
  const double tol = 64.0 * (double)m * DBL_EPSILON;
  gsl_matrix *A = gsl_matrix_alloc(m, n), *B = gsl_matrix_alloc(m, nrhs),
             *X = gsl_matrix_alloc(n, nrhs), *G = gsl_matrix_alloc(n, n),
             *Xn = gsl_matrix_alloc(n, nrhs), *R = gsl_matrix_alloc(m, nrhs),
             *AtR = gsl_matrix_alloc(n, nrhs), *P = gsl_matrix_alloc(n, m),
             *PB = gsl_matrix_alloc(n, nrhs);
  fill(A, 0.61);
  fill(B, 2.2);
  tl_linalg_lstsq_workspace *w = tl_linalg_lstsq_alloc(m, n, nrhs);
  size_t rank = 0;
  gsl_vector *S = gsl_vector_alloc(n);
  gsl_test(tl_linalg_lstsq(w, A, B, 1e-12, X, &rank, S), "lstsq full rank: status");
  gsl_test_int((int)rank, (int)n, "lstsq full rank: rank");
  /* Normal equations (A^T A) X = A^T B by Cholesky: well conditioned here. */
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, A, A, 0.0, G);
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, A, B, 0.0, Xn);
  gsl_test(tl_linalg_cholesky(G), "lstsq full rank: Cholesky of A^T A");
  gsl_test(tl_linalg_cholesky_solve(G, Xn), "lstsq full rank: normal-equation solve");
  const double cond = gsl_vector_get(S, 0) / gsl_vector_get(S, n - 1);
  gsl_test_abs(tl_linalg_frobenius_diff(X, Xn) / tl_linalg_frobenius(Xn), 0.0,
               tol * cond * cond, "lstsq full rank: X equals the normal-equation solution");
  gsl_matrix_memcpy(R, B);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, A, X, -1.0, R);
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, A, R, 0.0, AtR);
  gsl_test_abs(tl_linalg_frobenius(AtR) / (tl_linalg_frobenius(A) * tl_linalg_frobenius(B)),
               0.0, tol, "lstsq full rank: residual orthogonal to range(A)");

  /* Rank-deficient: column 2 = 1.7 col0 - 0.6 col1.  The minimum-norm solution
   * equals A^+ B and is orthogonal to the null vector z = (1.7, -0.6, -1, 0). */
  for (size_t i = 0; i < m; i++)
    gsl_matrix_set(A, i, 2, 1.7 * gsl_matrix_get(A, i, 0) - 0.6 * gsl_matrix_get(A, i, 1));
  gsl_test(tl_linalg_lstsq(w, A, B, 1e-10, X, &rank, S), "lstsq rank 3: status");
  gsl_test_int((int)rank, 3, "lstsq rank 3: effective rank");
  tl_linalg_svd_workspace *sw = tl_linalg_svd_alloc(m, n);
  size_t prank = 0;
  gsl_test(tl_linalg_pinv(sw, A, 1e-10, P, &prank), "pinv rank 3: status");
  gsl_test_int((int)prank, 3, "pinv rank 3: rank");
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, P, B, 0.0, PB);
  gsl_test_abs(tl_linalg_frobenius_diff(X, PB) / tl_linalg_frobenius(PB), 0.0, tol * 10.0,
               "lstsq rank 3: X = A^+ B (minimum norm)");
  const double z[4] = {1.7, -0.6, -1.0, 0.0};
  double zx = 0.0;
  for (size_t j = 0; j < nrhs; j++) {
    double d = 0.0;
    for (size_t i = 0; i < n; i++)
      d += z[i] * gsl_matrix_get(X, i, j);
    zx = fmax(zx, fabs(d));
  }
  gsl_test_abs(zx / tl_linalg_frobenius(X), 0.0, tol * 10.0,
               "lstsq rank 3: solution orthogonal to the null space");
  gsl_matrix_memcpy(R, B);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, A, X, -1.0, R);
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, A, R, 0.0, AtR);
  gsl_test_abs(tl_linalg_frobenius(AtR) / (tl_linalg_frobenius(A) * tl_linalg_frobenius(B)),
               0.0, tol, "lstsq rank 3: residual orthogonal to range(A)");
  test_penrose(A, P, tol * 10.0, "11x4 rank 3");
  tl_linalg_svd_free(sw);

  /* Wide, full row rank. */
  gsl_matrix *W = gsl_matrix_alloc(3, 8), *Wp = gsl_matrix_alloc(8, 3);
  fill(W, -0.45);
  sw = tl_linalg_svd_alloc(3, 8);
  gsl_test(tl_linalg_pinv(sw, W, 1e-12, Wp, &prank), "pinv 3x8: status");
  gsl_test_int((int)prank, 3, "pinv 3x8: rank");
  test_penrose(W, Wp, 64.0 * 8.0 * DBL_EPSILON, "3x8");
  tl_linalg_svd_free(sw);
  gsl_matrix_free(W);
  gsl_matrix_free(Wp);

  tl_linalg_lstsq_free(w);
  gsl_vector_free(S);
  gsl_matrix_free(A);
  gsl_matrix_free(B);
  gsl_matrix_free(X);
  gsl_matrix_free(G);
  gsl_matrix_free(Xn);
  gsl_matrix_free(R);
  gsl_matrix_free(AtR);
  gsl_matrix_free(P);
  gsl_matrix_free(PB);
}

static void test_cholesky(void) {
  const size_t n = 6, nrhs = 4;
  const double tol = 32.0 * (double)n * DBL_EPSILON;
  gsl_matrix *B = gsl_matrix_alloc(9, n), *A = gsl_matrix_alloc(n, n),
             *L = gsl_matrix_alloc(n, n), *C = gsl_matrix_alloc(n, nrhs),
             *X = gsl_matrix_alloc(n, nrhs), *Cr = gsl_matrix_alloc(nrhs, n),
             *Xr = gsl_matrix_alloc(nrhs, n);
  fill(B, 0.2);
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, B, B, 0.0, A);
  for (size_t i = 0; i < n; i++)
    gsl_matrix_set(A, i, i, gsl_matrix_get(A, i, i) + 0.5);
  gsl_matrix_memcpy(L, A);
  gsl_test(tl_linalg_cholesky(L), "cholesky: status");
  int lower = 1, positive = 1;
  for (size_t i = 0; i < n; i++) {
    positive &= gsl_matrix_get(L, i, i) > 0.0;
    for (size_t j = i + 1; j < n; j++)
      lower &= gsl_matrix_get(L, i, j) == 0.0;
  }
  gsl_test(!lower || !positive, "cholesky: L lower triangular with positive diagonal");
  const double normA = tl_linalg_frobenius(A);
  gsl_test_abs(product_error(CblasNoTrans, L, CblasTrans, L, A) / normA, 0.0, tol,
               "cholesky: ||L L^T - A||_F / ||A||_F");
  /* Left solves: L X = C and L^T X = C. */
  fill(C, 1.9);
  gsl_matrix_memcpy(X, C);
  gsl_test(tl_linalg_trsm_lower(CblasLeft, CblasNoTrans, L, X), "trsm: left status");
  gsl_test_abs(product_error(CblasNoTrans, L, CblasNoTrans, X, C) / tl_linalg_frobenius(C), 0.0,
               tol, "trsm: L X = C");
  gsl_matrix_memcpy(X, C);
  tl_linalg_trsm_lower(CblasLeft, CblasTrans, L, X);
  gsl_test_abs(product_error(CblasTrans, L, CblasNoTrans, X, C) / tl_linalg_frobenius(C), 0.0,
               tol, "trsm: L^T X = C");
  /* Right solves: X L = C and X L^T = C (C is nrhs x n). */
  fill(Cr, -0.8);
  gsl_matrix_memcpy(Xr, Cr);
  gsl_test(tl_linalg_trsm_lower(CblasRight, CblasNoTrans, L, Xr), "trsm: right status");
  gsl_test_abs(product_error(CblasNoTrans, Xr, CblasNoTrans, L, Cr) / tl_linalg_frobenius(Cr),
               0.0, tol, "trsm: X L = C");
  gsl_matrix_memcpy(Xr, Cr);
  tl_linalg_trsm_lower(CblasRight, CblasTrans, L, Xr);
  gsl_test_abs(product_error(CblasNoTrans, Xr, CblasTrans, L, Cr) / tl_linalg_frobenius(Cr),
               0.0, tol, "trsm: X L^T = C");
  gsl_test(tl_linalg_trsm_lower(CblasLeft, CblasNoTrans, L, Cr) != GSL_EBADLEN,
           "trsm: shape mismatch is GSL_EBADLEN");
  /* SPD solves: matrix (two trsm), vector (dpotrs_), dposv_. */
  gsl_matrix_memcpy(X, C);
  gsl_test(tl_linalg_cholesky_solve(L, X), "cholesky solve: status");
  const double cond_tol = tol * 1e3; /* cond(A) < 1e3 for this matrix */
  gsl_test_abs(product_error(CblasNoTrans, A, CblasNoTrans, X, C) / tl_linalg_frobenius(C), 0.0,
               cond_tol, "cholesky solve: A X = C");
  gsl_vector *b = gsl_vector_alloc(n), *x = gsl_vector_alloc(n), *r = gsl_vector_alloc(n),
             *x2 = gsl_vector_alloc(n);
  for (size_t i = 0; i < n; i++)
    gsl_vector_set(b, i, 1.3 * sin(2.0 * (double)i + 0.4) - 0.2);
  gsl_vector_memcpy(x, b);
  gsl_test(tl_linalg_cholesky_solve_vector(L, x), "cholesky solve vector: status");
  gsl_vector_memcpy(r, b);
  gsl_blas_dgemv(CblasNoTrans, 1.0, A, x, -1.0, r);
  gsl_test_abs(gsl_blas_dnrm2(r) / gsl_blas_dnrm2(b), 0.0, cond_tol,
               "cholesky solve vector: A x = b");
  gsl_matrix *A2 = gsl_matrix_alloc(n, n);
  gsl_matrix_memcpy(A2, A);
  gsl_vector_memcpy(x2, b);
  gsl_test(tl_linalg_spd_solve(A2, x2), "spd solve: status");
  gsl_vector_sub(x2, x);
  gsl_test_abs(gsl_blas_dnrm2(x2) / gsl_blas_dnrm2(x), 0.0, cond_tol,
               "spd solve: dposv_ agrees with dpotrf_ + dpotrs_");
  gsl_test_abs(tl_linalg_frobenius_diff(A2, L), 0.0, tol * normA,
               "spd solve: A overwritten by the same factor");
  /* Not positive definite. */
  gsl_matrix_memcpy(A2, A);
  gsl_matrix_set(A2, 3, 3, -1.0);
  gsl_test_int(tl_linalg_cholesky(A2), GSL_EDOM, "cholesky: indefinite matrix is GSL_EDOM");
  tl_error_clear();
  gsl_matrix_free(A2);
  gsl_vector_free(b);
  gsl_vector_free(x);
  gsl_vector_free(r);
  gsl_vector_free(x2);
  gsl_matrix_free(B);
  gsl_matrix_free(A);
  gsl_matrix_free(L);
  gsl_matrix_free(C);
  gsl_matrix_free(X);
  gsl_matrix_free(Cr);
  gsl_matrix_free(Xr);
}

static void test_lu(void) {
  const size_t n = 5, nrhs = 3;
  const double tol = 1e3 * (double)n * DBL_EPSILON; /* includes cond(A) */
  gsl_matrix *A = gsl_matrix_alloc(n, n), *B = gsl_matrix_alloc(n, nrhs),
             *X = gsl_matrix_alloc(n, nrhs);
  fill(A, 0.93);
  fill(B, -1.7);
  tl_linalg_lu *lu = tl_linalg_lu_alloc(n, nrhs);
  gsl_test(tl_linalg_lu_factor(lu, A), "lu: factor status");
  gsl_matrix_memcpy(X, B);
  gsl_test(tl_linalg_lu_solve_matrix(lu, X), "lu: matrix solve status");
  gsl_test_abs(product_error(CblasNoTrans, A, CblasNoTrans, X, B) / tl_linalg_frobenius(B), 0.0,
               tol, "lu: A X = B (non-symmetric)");
  gsl_vector *x = gsl_vector_alloc(n);
  gsl_vector_const_view b1 = gsl_matrix_const_column(B, 1);
  gsl_vector_memcpy(x, &b1.vector);
  gsl_test(tl_linalg_lu_solve(lu, x), "lu: vector solve status");
  double diff = 0.0;
  for (size_t i = 0; i < n; i++)
    diff = fmax(diff, fabs(gsl_vector_get(x, i) - gsl_matrix_get(X, i, 1)));
  gsl_test_abs(diff, 0.0, tol, "lu: vector solve equals matrix solve column");
  /* det of a permuted triangular matrix: product of the diagonal, one swap. */
  gsl_matrix *T = gsl_matrix_calloc(n, n);
  const double diag[5] = {2.385, -1.3, 0.7, 1.9, -0.45};
  double det = 1.0;
  for (size_t i = 0; i < n; i++) {
    det *= diag[i];
    for (size_t j = i; j < n; j++)
      gsl_matrix_set(T, i, j, j == i ? diag[i] : 0.3 * (double)(i + 2 * j) - 1.1);
  }
  gsl_matrix_swap_rows(T, 1, 3);
  tl_linalg_lu_factor(lu, T);
  gsl_test_rel(tl_linalg_lu_det(lu), -det, tol, "lu: det of a row-swapped triangular matrix");
  /* Determinant is invariant under transposition, A and A^T give the same. */
  gsl_matrix *At = gsl_matrix_alloc(n, n);
  gsl_matrix_transpose_memcpy(At, A);
  tl_linalg_lu_factor(lu, A);
  const double detA = tl_linalg_lu_det(lu);
  tl_linalg_lu_factor(lu, At);
  gsl_test_rel(tl_linalg_lu_det(lu), detA, tol, "lu: det A^T = det A");
  gsl_matrix_set_zero(T);
  gsl_matrix_set(T, 0, 0, 1.0);
  gsl_test_int(tl_linalg_lu_factor(lu, T), GSL_ESING, "lu: singular matrix is GSL_ESING");
  tl_error_clear();
  tl_linalg_lu_free(lu);
  gsl_vector_free(x);
  gsl_matrix_free(A);
  gsl_matrix_free(At);
  gsl_matrix_free(B);
  gsl_matrix_free(X);
  gsl_matrix_free(T);
}

static void test_haar(void) {
  const size_t n = 5;
  const double tol = 16.0 * (double)n * DBL_EPSILON;
  tl_linalg_haar_workspace *w = tl_linalg_haar_alloc(n);
  gsl_matrix *Q = gsl_matrix_alloc(n, n), *G = gsl_matrix_alloc(n, n),
             *R = gsl_matrix_alloc(n, n), *QQt = gsl_matrix_alloc(n, n),
             *I = gsl_matrix_alloc(n, n);
  gsl_rng *rng = tl_rng_alloc(20230919, 4);
  gsl_test(tl_linalg_haar_orthogonal(w, rng, Q), "haar: status");
  gsl_test_abs(orthogonality_error(Q), 0.0, tol, "haar: Q^T Q = I");
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, Q, Q, 0.0, QQt);
  gsl_matrix_set_identity(I);
  gsl_test_abs(tl_linalg_frobenius_diff(QQt, I), 0.0, tol, "haar: Q Q^T = I");
  /* Layout: redraw the same G row-major; Q^T G must be upper triangular with
   * a positive diagonal (Q is the Q factor of G, not of G^T). */
  gsl_rng_free(rng);
  rng = tl_rng_alloc(20230919, 4);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      gsl_matrix_set(G, i, j, gsl_ran_gaussian(rng, 1.0));
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, Q, G, 0.0, R);
  double below = 0.0;
  int positive = 1;
  for (size_t i = 0; i < n; i++) {
    positive &= gsl_matrix_get(R, i, i) > 0.0;
    for (size_t j = 0; j < i; j++)
      below = fmax(below, fabs(gsl_matrix_get(R, i, j)));
  }
  gsl_test_abs(below / tl_linalg_frobenius(G), 0.0, tol,
               "haar: Q^T G upper triangular (G drawn row-major)");
  gsl_test(!positive, "haar: Q^T G has a positive diagonal (sign fix)");
  gsl_rng_free(rng);
  /* Distribution: det = +1 with probability 1/2; E Q_00^2 = 1/n; E Q_00 = 0. */
  const size_t draws = 4000, m = 3;
  tl_linalg_haar_workspace *w3 = tl_linalg_haar_alloc(m);
  tl_linalg_lu *lu = tl_linalg_lu_alloc(m, 1);
  gsl_matrix *Q3 = gsl_matrix_alloc(m, m);
  rng = tl_rng_alloc(20230919, 5);
  size_t positive_det = 0;
  double mean = 0.0, meansq = 0.0, detdev = 0.0;
  for (size_t t = 0; t < draws; t++) {
    tl_linalg_haar_orthogonal(w3, rng, Q3);
    tl_linalg_lu_factor(lu, Q3);
    const double det = tl_linalg_lu_det(lu);
    detdev = fmax(detdev, fabs(fabs(det) - 1.0));
    positive_det += det > 0.0;
    const double q = gsl_matrix_get(Q3, 0, 0);
    mean += q / (double)draws;
    meansq += q * q / (double)draws;
  }
  gsl_test_abs(detdev, 0.0, tol, "haar: |det Q| = 1 over %zu draws", draws);
  /* 5 binomial standard deviations: a false alarm has probability ~6e-7. */
  const double sd = sqrt(0.25 / (double)draws);
  gsl_test_abs((double)positive_det / (double)draws, 0.5, 5.0 * sd,
               "haar: P(det = +1) = 1/2 (3x3, %zu draws)", draws);
  /* Q_00 is uniform-on-sphere coordinate: variance 1/m, Var(Q^2) <= 1/m. */
  gsl_test_abs(mean, 0.0, 5.0 * sqrt(1.0 / (double)m / (double)draws), "haar: E Q_00 = 0");
  gsl_test_abs(meansq, 1.0 / (double)m, 5.0 * sqrt(1.0 / (double)m / (double)draws),
               "haar: E Q_00^2 = 1/3");
  gsl_rng_free(rng);
  tl_linalg_lu_free(lu);
  tl_linalg_haar_free(w3);
  gsl_matrix_free(Q3);
  tl_linalg_haar_free(w);
  gsl_matrix_free(Q);
  gsl_matrix_free(G);
  gsl_matrix_free(R);
  gsl_matrix_free(QQt);
  gsl_matrix_free(I);
}

static void test_frobenius(void) {
  gsl_matrix *A = gsl_matrix_alloc(2, 3), *B = gsl_matrix_alloc(2, 3);
  const double v[6] = {2.385, -1.25, 0.5, 3.0, -0.75, 1.125};
  double sum = 0.0;
  for (size_t i = 0; i < 6; i++) {
    A->data[i] = v[i];
    sum += v[i] * v[i];
  }
  gsl_test_rel(tl_linalg_frobenius(A), sqrt(sum), 4.0 * DBL_EPSILON, "frobenius: small matrix");
  gsl_matrix_scale(A, 1e200);
  gsl_test_rel(tl_linalg_frobenius(A), 1e200 * sqrt(sum), 8.0 * DBL_EPSILON,
               "frobenius: no overflow at 1e200");
  gsl_matrix_memcpy(B, A);
  gsl_matrix_set(B, 1, 2, gsl_matrix_get(A, 1, 2) + 3e190);
  gsl_test_rel(tl_linalg_frobenius_diff(A, B), 3e190, 1e-6, "frobenius diff: one entry");
  /* A strided submatrix view. */
  gsl_matrix_const_view sub = gsl_matrix_const_submatrix(A, 0, 1, 2, 2);
  gsl_test_rel(tl_linalg_frobenius(&sub.matrix),
               1e200 * sqrt(1.25 * 1.25 + 0.5 * 0.5 + 0.75 * 0.75 + 1.125 * 1.125),
               8.0 * DBL_EPSILON, "frobenius: strided submatrix");
  gsl_matrix_free(A);
  gsl_matrix_free(B);
}

static void test_blas_info(void) {
  tl_blas_info info;
  gsl_test(tl_linalg_blas_info(&info), "blas info: status");
  /* If libgslcblas (or reference libblas) were bound, this path would name it. */
  gsl_test(strstr(info.library, "openblas") == NULL,
           "blas info: cblas_dgemm comes from OpenBLAS (%s)", info.library);
  gsl_test(strstr(info.library, "gslcblas") != NULL, "blas info: libgslcblas is not bound");
  gsl_test(info.corename[0] == '\0', "blas info: OpenBLAS core named (%s)", info.corename);
  gsl_test(info.threads < 1, "blas info: thread count positive (%d)", info.threads);
  gsl_test(tl_linalg_set_threads(1), "blas info: set one thread");
  tl_linalg_blas_info(&info);
  gsl_test_int(info.threads, 1, "blas info: thread count read back");
  gsl_test(tl_linalg_set_threads(0) != GSL_EINVAL, "blas info: zero threads refused");
  tl_error_clear();
}

int main(void) {
  tl_error_install_gsl_handler();
  test_svd(7, 4);
  test_svd(4, 7);
  test_svd(5, 5);
  test_eigen();
  test_lstsq_pinv();
  test_cholesky();
  test_lu();
  test_haar();
  test_frobenius();
  test_blas_info();
  gsl_test(tl_linalg_svd_alloc(0, 3) != NULL, "alloc: zero size refused");
  tl_error_clear();
  tl_linalg_svd_free(NULL);
  tl_linalg_eigen_free(NULL);
  tl_linalg_lstsq_free(NULL);
  tl_linalg_lu_free(NULL);
  tl_linalg_haar_free(NULL);
  return gsl_test_summary();
}

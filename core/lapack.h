/* Prototypes of the Fortran LAPACK routines the core calls.  OpenBLAS exports
 * them (Debian's build has no LAPACKE), so they are declared here with the
 * Fortran calling convention: every argument by pointer, trailing hidden
 * string lengths omitted, which gfortran accepts for one-character strings. */
#ifndef TP_LAPACK_H
#define TP_LAPACK_H

/* Selected eigenvalues and eigenvectors of a real symmetric matrix. */
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n,
	     double *a, const int *lda, const double *vl, const double *vu,
	     const int *il, const int *iu, const double *abstol, int *m,
	     double *w, double *z, const int *ldz, int *isuppz, double *work,
	     const int *lwork, int *iwork, const int *liwork, int *info);

#endif

#include "config.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "lapack.h"
#include "pca.h"

/* Rows converted to double per dsyrk call. */
#define PCA_CHUNK 256

/* The whitening scale of component j is 1 / sqrt(max(eigenvalue_j, 0) + eps)
 * with eps = PCA_EPS_RELATIVE * largest eigenvalue.  It bounds the scale of
 * directions with (numerically) zero variance, and changes the scale of a
 * direction whose eigenvalue is at least 1e-3 of the largest by under 0.05%. */
#define PCA_EPS_RELATIVE 1e-6

void pca_free(pca_model *pca)
{
	if (!pca)
		return;
	free(pca->mean);
	free(pca->components);
	free(pca->eigenvalues);
	free(pca);
}

/* Computes the mean of x (n, d) into mean_out (d) and the upper triangle of
 * the sample covariance, divisor n - 1, into cov (d, d) in row-major order. */
static tp_status pca_covariance(const float *x, int n, int d, double *mean_out, double *cov)
{
	double *chunk = malloc((size_t)PCA_CHUNK * (size_t)d * sizeof *chunk); /* (PCA_CHUNK, d) centred rows */

	if (!chunk)
		return tp_fail(TP_ERR_NOMEM, "pca fit: no memory for a %d x %d work buffer", PCA_CHUNK, d);

	for (int j = 0; j < d; j++)
		mean_out[j] = 0.0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < d; j++)
			mean_out[j] += x[(size_t)i * (size_t)d + (size_t)j];
	for (int j = 0; j < d; j++)
		mean_out[j] /= n;

	/* accumulate X_c^T X_c chunk by chunk, where beta 0 on the first chunk clears cov */
	for (int start = 0; start < n; start += PCA_CHUNK) {
		int rows = n - start < PCA_CHUNK ? n - start : PCA_CHUNK;

		for (int i = 0; i < rows; i++)
			for (int j = 0; j < d; j++)
				chunk[(size_t)i * (size_t)d + (size_t)j] =
					x[(size_t)(start + i) * (size_t)d + (size_t)j] - mean_out[j];
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, rows, 1.0 / (n - 1), chunk, d,
			    start == 0 ? 0.0 : 1.0, cov, d);
	}
	free(chunk);
	return TP_OK;
}

/* Finds the k largest eigenpairs of cov (d, d), upper triangle in row-major
 * order, with dsyevr.  Writes eigenvalues ascending into w (k) and the
 * eigenvectors as columns into z (d, k), column-major. */
static tp_status pca_eigen(double *cov, int d, int k, double *w, double *z)
{
	/* cov's row-major upper triangle is the column-major lower triangle */
	const char jobz = 'V', range = 'I', uplo = 'L';
	const int il = d - k + 1, iu = d;
	const double vl = 0.0, vu = 0.0, abstol = 0.0;
	int m = 0, info = 0, lwork = -1, liwork = -1, iwork_query = 0;
	double work_query = 0.0;
	int *isuppz = malloc(2 * (size_t)k * sizeof *isuppz); /* (2k) support of each eigenvector */
	double *work;
	int *iwork;

	if (!isuppz)
		return tp_fail(TP_ERR_NOMEM, "pca fit: no memory for the eigensolver");

	/* workspace query */
	dsyevr_(&jobz, &range, &uplo, &d, cov, &d, &vl, &vu, &il, &iu, &abstol, &m, w, z, &d, isuppz,
		&work_query, &lwork, &iwork_query, &liwork, &info);
	if (info != 0) {
		free(isuppz);
		return tp_fail(TP_ERR_NUMERIC, "pca fit: LAPACK dsyevr workspace query failed with info %d", info);
	}
	lwork = (int)work_query;
	liwork = iwork_query;
	work = malloc((size_t)lwork * sizeof *work);
	iwork = malloc((size_t)liwork * sizeof *iwork);
	if (!work || !iwork) {
		free(isuppz);
		free(work);
		free(iwork);
		return tp_fail(TP_ERR_NOMEM, "pca fit: no memory for the eigensolver workspace (%d doubles)", lwork);
	}

	dsyevr_(&jobz, &range, &uplo, &d, cov, &d, &vl, &vu, &il, &iu, &abstol, &m, w, z, &d, isuppz,
		work, &lwork, iwork, &liwork, &info);
	free(isuppz);
	free(work);
	free(iwork);
	if (info != 0)
		return tp_fail(TP_ERR_NUMERIC, "pca fit: LAPACK dsyevr failed with info %d on a %d x %d covariance", info, d, d);
	if (m != k)
		return tp_fail(TP_ERR_NUMERIC, "pca fit: LAPACK dsyevr returned %d eigenpairs, expected %d", m, k);
	return TP_OK;
}

/* Stores eigenpairs in descending order, fixes each eigenvector's sign and
 * divides it by the square root of its regularised eigenvalue. */
static void pca_store_components(pca_model *pca, const double *w, const double *z)
{
	int d = pca->in_dim, k = pca->out_dim;
	double eps = PCA_EPS_RELATIVE * w[k - 1];

	for (int j = 0; j < k; j++) {
		int src = k - 1 - j; /* dsyevr's order is ascending */
		const double *v = z + (size_t)src * (size_t)d;
		double lambda = w[src] > 0.0 ? w[src] : 0.0;
		double scale = 1.0 / sqrt(lambda + eps);
		int argmax = 0;

		for (int i = 1; i < d; i++)
			if (fabs(v[i]) > fabs(v[argmax]))
				argmax = i;
		if (v[argmax] < 0.0)
			scale = -scale;
		pca->eigenvalues[j] = w[src];
		for (int i = 0; i < d; i++)
			pca->components[(size_t)j * (size_t)d + (size_t)i] = (float)(v[i] * scale);
	}
}

tp_status pca_fit(const float *x, int n, int d, int k, pca_model **out)
{
	pca_model *pca;
	double *mean = NULL; /* (d) */
	double *cov = NULL;  /* (d, d) */
	double *w = NULL;    /* (k) eigenvalues, ascending */
	double *z = NULL;    /* (d, k) column-major eigenvectors */
	tp_status st;

	if (d < 1 || k < 1 || k > d)
		return tp_fail(TP_ERR_VALUE, "pca fit: %d components requested from %d input dimensions: choose 1..%d", k, d, d);
	if (n < 2)
		return tp_fail(TP_ERR_VALUE, "pca fit: %d sample%s given: a covariance needs at least 2", n, n == 1 ? "" : "s");

	pca = calloc(1, sizeof *pca);
	mean = malloc((size_t)d * sizeof *mean);
	cov = malloc((size_t)d * (size_t)d * sizeof *cov);
	w = malloc((size_t)d * sizeof *w);
	z = malloc((size_t)d * (size_t)k * sizeof *z);
	if (pca) {
		pca->in_dim = d;
		pca->out_dim = k;
		pca->mean = malloc((size_t)d * sizeof *pca->mean);
		pca->components = malloc((size_t)k * (size_t)d * sizeof *pca->components);
		pca->eigenvalues = malloc((size_t)k * sizeof *pca->eigenvalues);
	}
	if (!pca || !mean || !cov || !w || !z || !pca->mean || !pca->components || !pca->eigenvalues) {
		st = tp_fail(TP_ERR_NOMEM, "pca fit: no memory for a %d x %d covariance", d, d);
		goto fail;
	}

	st = pca_covariance(x, n, d, mean, cov);
	if (st != TP_OK)
		goto fail;
	st = pca_eigen(cov, d, k, w, z);
	if (st != TP_OK)
		goto fail;
	if (!(w[k - 1] > 0.0)) {
		st = tp_fail(TP_ERR_VALUE, "pca fit: the %d training samples have zero variance (all rows are equal): nothing to whiten", n);
		goto fail;
	}

	for (int j = 0; j < d; j++)
		pca->mean[j] = (float)mean[j];
	pca_store_components(pca, w, z);
	free(mean);
	free(cov);
	free(w);
	free(z);
	*out = pca;
	return TP_OK;

fail:
	free(mean);
	free(cov);
	free(w);
	free(z);
	pca_free(pca);
	return st;
}

void pca_transform(const pca_model *pca, const float *x, int n, float *y)
{
	int d = pca->in_dim, k = pca->out_dim;

	/* y = x W^T - W mean, so that no centred copy of x is needed */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, k, d, 1.0f, x, d, pca->components, d, 0.0f, y, k);
	for (int j = 0; j < k; j++) {
		const float *row = pca->components + (size_t)j * (size_t)d;
		double offset = 0.0;

		for (int i = 0; i < d; i++)
			offset += (double)row[i] * pca->mean[i];
		for (int r = 0; r < n; r++)
			y[(size_t)r * (size_t)k + (size_t)j] -= (float)offset;
	}
}

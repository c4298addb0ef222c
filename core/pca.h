/* PCA whitening: the built-in, frozen image encoder of the Fashion-MNIST demo.
 *
 * It stands in for CLIP image features on data that has no CLIP model: the
 * pixels are centred with the training mean, projected on the top k
 * eigenvectors of the training covariance (LAPACK dsyevr, double precision)
 * and divided by the square root of each eigenvalue.  The sign of every
 * eigenvector is fixed so that its largest-magnitude entry is positive, which
 * makes the encoder deterministic across LAPACK builds. */
#ifndef TP_PCA_H
#define TP_PCA_H

#include "status.h"

typedef struct pca_model {
	int in_dim;        /* input dimension d */
	int out_dim;       /* number of components k, 1..d */
	float *mean;       /* (d) training mean */
	float *components; /* (k, d) eigenvectors, largest eigenvalue first, each divided by sqrt(eigenvalue + eps) */
	double *eigenvalues; /* (k) descending */
} pca_model;

/* Fits the whitening transform on x (n, d).  Fails with TP_ERR_VALUE when
 * k is outside 1..d or n < 2. */
tp_status pca_fit(const float *x, int n, int d, int k, pca_model **out);

/* Writes the whitened features of x (n, d) into y (n, k). */
void pca_transform(const pca_model *pca, const float *x, int n, float *y);

void pca_free(pca_model *pca);

#endif

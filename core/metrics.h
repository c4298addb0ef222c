/* Metrics of classification and of the clean/noisy split. */
#ifndef TP_METRICS_H
#define TP_METRICS_H

/* Area under the ROC curve of score for the positive class (positive[i] != 0),
 * computed as the Mann-Whitney rank statistic with tied scores counted half.
 * Returns NAN when either class is empty. */
double metrics_auroc(const double *score, const int *positive, int n);

/* Quality of "predicted noisy" (p_clean < tau) against "actually noisy"
 * (given label != true label). */
typedef struct split_quality {
	int n;
	int true_pos;         /* predicted noisy, actually noisy */
	int false_pos;        /* predicted noisy, actually clean */
	int false_neg;        /* predicted clean, actually noisy */
	int true_neg;         /* predicted clean, actually clean */
	double precision;     /* NAN when nothing is predicted noisy */
	double recall;        /* NAN when nothing is actually noisy */
	double f1;            /* NAN when precision or recall is NAN or both are 0 */
	double auroc_posterior; /* AUROC of 1 - p_clean for the noisy class */
	double auroc_loss;      /* AUROC of the raw loss for the noisy class */
} split_quality;

/* Fills q; loss may be NULL (auroc_loss is then NAN). */
void metrics_split_quality(const double *p_clean, const double *loss,
			   const int *given, const int *truth, int n, double tau,
			   split_quality *q);

/* Fraction of i with pred[i] == truth[i]; NAN when n == 0. */
double metrics_accuracy(const int *pred, const int *truth, int n);

#endif

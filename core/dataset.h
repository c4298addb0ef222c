/* Data sets: image features with true labels, class names, and a split.
 *
 * A dataset is immutable once loaded.  Features are stored L2-normalised,
 * because every head compares x / |x| with class weights.  The labels stored
 * here are the true ones; given (possibly noisy) labels live in the run
 * state, so that noise can be applied and cleared without reloading. */
#ifndef TP_DATASET_H
#define TP_DATASET_H

#include "status.h"

typedef struct dataset {
	char *name;            /* "fashion-mnist" or the features file's path */
	char *encoder;         /* how the features were produced, shown to the user */
	int n_classes;
	char **class_names;    /* (n_classes) */
	int dim;               /* feature dimension D */
	int n_train;
	float *x_train;        /* (n_train, dim), rows L2-normalised */
	int *y_train;          /* (n_train) true labels in 0..n_classes-1 */
	int *train_index;      /* (n_train) row of each sample in the source training set */
	int n_test;
	float *x_test;         /* (n_test, dim), rows L2-normalised */
	int *y_test;           /* (n_test) */
	float *text_features;  /* (n_classes, dim) fixed class features, or NULL */
} dataset;

/* The ten Fashion-MNIST classes in label order. */
extern const char *const fmnist_class_names[10];

/* Default folder of Debian's dataset-fashion-mnist package. */
#define FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

typedef struct fmnist_options {
	const char *dir;       /* folder with the four *-idx*-ubyte[.gz] files; NULL = default */
	int dim;               /* PCA components, 1..784 (default 128) */
	int n_train;           /* use the first n_train training images; 0 = all 60000 */
	int n_test;            /* use the first n_test test images; 0 = all 10000 */
	int shots;             /* > 0: keep K training images per class (seeded) */
	unsigned long seed;    /* seed of the few-shot sampling */
} fmnist_options;

/* Fills o with the defaults (dim 128, all images, no few-shot sampling, seed 1). */
void fmnist_options_default(fmnist_options *o);

/* Loads Fashion-MNIST and encodes it with the PCA whitening encoder fitted
 * on the (possibly reduced) training images.  Looks for each file first
 * with a ".gz" suffix, then without. */
tp_status dataset_load_fashion_mnist(const fmnist_options *o, dataset **out);

typedef struct features_options {
	const char *features;       /* (N, D) float32/float64 .npy, required */
	const char *labels;         /* N labels: integer .npy or text, one per line; required */
	const char *classes;        /* class names, one per line; required */
	const char *test_features;  /* optional test set; without it test_ratio splits */
	const char *test_labels;    /* required with test_features */
	const char *text_features;  /* optional (C, D) fixed class features of the vector head */
	double test_ratio;          /* fraction held out as test set when no test file (default 0.2) */
	int shots;                  /* > 0: keep K training samples per class */
	unsigned long seed;         /* seed of the split and the few-shot sampling */
} features_options;

void features_options_default(features_options *o);

/* Loads user features.  Checks that the label count equals the feature row
 * count, that every label is in 0..C-1 where C is the number of class names,
 * that no feature is NaN or infinite, that no row has zero norm, and that test
 * and text features have the training dimension. */
tp_status dataset_load_features(const features_options *o, dataset **out);

/* Reads class names, one per line (blank lines and surrounding whitespace
 * ignored); *names is a malloc'd array of malloc'd strings. */
tp_status dataset_read_class_names(const char *path, char ***names, int *n);

/* Reads labels from an integer .npy file (name ends in ".npy") or from a text
 * file with one integer per line. */
tp_status dataset_read_labels(const char *path, int **labels, int *n);

/* Creates a data set whose training set is the rows (m) of d's training set,
 * in that order, with d's test set, class names and text features copied.
 * train_index keeps pointing at the source rows.  name and encoder gain a
 * note of the subset. */
tp_status dataset_subset(const dataset *d, const int *rows, int m, dataset **out);

void dataset_free(dataset *d);

#endif

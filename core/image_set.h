/* Image data sets: a folder of class sub-folders or a CSV list, encoded
 * with the CLIP image encoder (through the feature cache) into a dataset.
 *
 * States: an image_list is read from disk (image_list_scan_dir() or
 * image_list_read_csv()), encoded into features (image_set_encode(), which
 * marks the images that failed), and turned into a dataset
 * (image_set_build()), which drops the failed images and draws the split.
 *
 * Folder layouts:
 *   DIR/CLASS/...                 every file under a class folder, at any
 *                                 depth, is an image of that class; a seeded
 *                                 test_ratio share of each class is the test set
 *   DIR/train/CLASS/..., DIR/test/CLASS/...
 *                                 the split is given; the classes are the
 *                                 union of both sides' class folders
 * Class names are the folder names, sorted bytewise.  Names starting with
 * '.' are skipped (the default cache folder is DIR/.twinprompt-cache).
 * Files directly in DIR and empty class folders are reported through warn;
 * an empty class folder is left out of the classes.
 *
 * CSV (image_list_read_csv): one image per line, "path,label" or
 * "path,label,split".  The label is a class index (0-based) or a class name
 * of the classes file.  The split is "train" or "test", given on every line
 * or on none.  A
 * first line "path,label..." is a header.  Fields may be double-quoted
 * ("" inside quotes is one quote).  Relative paths are relative to the CSV
 * file's folder. */
#ifndef TP_IMAGE_SET_H
#define TP_IMAGE_SET_H

#include <stddef.h>

#include "clip_model.h"
#include "dataset.h"
#include "status.h"

typedef struct image_item {
	char *path;
	int label;       /* class index */
	int split;       /* 0 train, 1 test, -1 drawn by image_set_build() */
} image_item;

typedef struct image_list {
	char *source;        /* the folder or CSV file */
	int n_classes;
	char **class_names;  /* (n_classes) */
	int n;
	image_item *items;   /* (n) sorted by class, then path, for a folder */
} image_list;

/* A message for the user: a skipped file, an empty class folder. */
typedef void (*image_warn_fn)(const char *message, void *user);

/* Lists the images of a class-folder tree.  Fails when dir has no class
 * folder with files in it, or fewer than two classes. */
tp_status image_list_scan_dir(const char *dir, image_warn_fn warn, void *user, image_list **out);

/* Reads a CSV image list with the class names of classes_path (one per
 * line).  Errors name the line. */
tp_status image_list_read_csv(const char *csv_path, const char *classes_path, image_list **out);

/* Lists every file under dir, at any depth (sorted, files before
 * sub-folders), as images of one class, for encoding without labels.
 * Fails when there is none. */
tp_status image_list_scan_files(const char *dir, image_list **out);

void image_list_free(image_list *l);

typedef struct image_encode_options {
	const char *cache_dir;     /* folder of the feature cache; NULL: no cache */
	size_t batch_bytes;        /* activation memory of one batch (default 256 MB when 0) */
	/* Called after every batch with the images encoded so far and the
	 * number to encode (those not in the cache).  A nonzero return stops
	 * the encoding with TP_ERR_INTERRUPTED, and the cache keeps what was
	 * encoded. */
	int (*progress)(int done, int total, void *user);
	image_warn_fn warn;        /* skipped files, cache rebuilds; may be NULL */
	void *user;
} image_encode_options;

typedef struct image_encode_report {
	int n_cached;              /* features read from the cache */
	int n_encoded;             /* images decoded and encoded now */
	int n_failed;              /* unreadable, truncated or non-image files */
	double encode_seconds;     /* time spent decoding and encoding */
	char cache_path[4096];     /* the cache file, empty without a cache */
} image_encode_report;

/* Encodes the n images paths into features (n, P), not normalised; ok[i]
 * becomes 0 (and row i zero) for an image that could not be read, which
 * is reported through o->warn.  Only a failure of the whole operation
 * (out of memory, a cache that cannot be written, an interruption) returns
 * an error. */
tp_status image_set_encode(const clip_model *m, const char *const *paths, int n,
			   const image_encode_options *o, float *features, unsigned char *ok,
			   image_encode_report *report);

/* Builds a dataset from l and its features (l->n, dim) for the images with
 * ok set: rows L2-normalised, split from the layout or drawn per class with
 * seed (round(test_ratio n_c) test images of a class of n_c).  encoder
 * describes the features.  Fails when the training or the test set is
 * empty. */
tp_status image_set_build(const image_list *l, const float *features, const unsigned char *ok, int dim,
			  double test_ratio, unsigned long seed, const char *encoder, dataset **out);

#endif

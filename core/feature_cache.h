/* The on-disk cache of image features: one file per (image encoder, image
 * list) pair, so that a data set is encoded once.
 *
 * File name: DIR/features-MMMMMMMMMMMMMMMM-LLLLLLLLLLLLLLLL.tpc, where M is
 * the model's vision_checksum (clip_model.h) and L a 64-bit hash of the
 * image list (the resolved paths, in order), both in hexadecimal.
 *
 * Layout, all integers little-endian:
 *   header, 32 bytes:
 *     bytes 0-7    magic "TPFEAT01"
 *     bytes 8-15   model key: the vision_checksum of the encoder
 *     bytes 16-19  feature dimension P (uint32)
 *     bytes 20-23  record count hint, 0 (uint32, reserved)
 *     bytes 24-31  list key (uint64)
 *   then records, appended as images are encoded:
 *     uint32  path length N (1..4096)
 *     uint64  file size in bytes
 *     int64   modification time, nanoseconds since the epoch
 *     N bytes the image's resolved path, no terminator
 *     P float32 the raw image features (not normalised)
 *     uint32  CRC-32 (zlib) of the record's bytes before it
 * A later record for the same path replaces an earlier one.  An entry is
 * used only when the file's size and modification time still match, so a
 * changed file is encoded again.
 *
 * On opening, a file with another magic, model key, dimension or list key,
 * or a record that fails its CRC, is rebuilt from empty.  A file that ends
 * in a partial record (an encoding that was interrupted) keeps its complete
 * records and is cut after them.  Each case is reported through warn.
 * Records are flushed after every append, so an interrupted encoding
 * resumes where it stopped.  NOTE: two processes writing the same cache at
 * once are not coordinated. */
#ifndef TP_FEATURE_CACHE_H
#define TP_FEATURE_CACHE_H

#include <stdint.h>

#include "status.h"

typedef struct feature_cache feature_cache;

/* Identity of an image file's content as far as the cache can tell. */
typedef struct file_stamp {
	uint64_t size;
	int64_t mtime_ns;
} file_stamp;

/* A message for the user (the cache was rebuilt, for example). */
typedef void (*feature_cache_warn_fn)(const char *message, void *user);

/* Returns the 64-bit key of a list of n paths (order matters). */
uint64_t feature_cache_list_key(const char *const *paths, int n);

/* Opens or creates the cache of (model_key, list_key) in dir, creating dir
 * (one level) when missing, and reads its valid records.  The caller closes
 * *out with feature_cache_close(). */
tp_status feature_cache_open(const char *dir, uint64_t model_key, uint64_t list_key, int dim,
			     feature_cache_warn_fn warn, void *user, feature_cache **out);

/* The cache file's path. */
const char *feature_cache_path(const feature_cache *c);

/* Copies the features of path into features (dim) and returns 1 when the
 * cache contains them for this stamp, else returns 0. */
int feature_cache_find(const feature_cache *c, const char *path, const file_stamp *stamp, float *features);

/* Appends the features of path and flushes the file. */
tp_status feature_cache_add(feature_cache *c, const char *path, const file_stamp *stamp,
			    const float *features);

/* Number of records in the file whose path is not in keep (n paths) or is
 * superseded by a later record. */
int feature_cache_stale(const feature_cache *c, const char *const *keep, int n);

/* Rewrites the file with only the latest records of the paths in keep (n),
 * through a temporary file renamed over it. */
tp_status feature_cache_compact(feature_cache *c, const char *const *keep, int n);

/* Closes the file and frees c (NULL is allowed). */
void feature_cache_close(feature_cache *c);

/* Reads the size and modification time of path; TP_ERR_IO when it cannot be
 * read. */
tp_status file_stamp_read(const char *path, file_stamp *stamp);

#endif

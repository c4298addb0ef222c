/* Reading the IDX files of (Fashion-)MNIST, plain or gzip-compressed.
 *
 * Layout, all integers big-endian:
 *   bytes 0-1  zero
 *   byte  2    element type, 0x08 = unsigned byte (the only one read here)
 *   byte  3    number of dimensions: 3 for images, 1 for labels
 *   then       one uint32 size per dimension
 *   then       the elements, row-major.
 * zlib's gzread reads both compressed and uncompressed files. */
#ifndef TP_IDX_H
#define TP_IDX_H

#include <stdint.h>

#include "status.h"

/* Reads an image file (n, rows, cols) of unsigned bytes.  *pixels is
 * malloc'd (n * rows * cols bytes) and owned by the caller.  A truncated file,
 * a wrong magic number or a size that does not fit in memory is an error that
 * names the file. */
tp_status idx_read_images(const char *path, uint8_t **pixels, int *n, int *rows, int *cols);

/* Reads a label file (n) of unsigned bytes into *labels (malloc'd). */
tp_status idx_read_labels(const char *path, uint8_t **labels, int *n);

#endif

/* Reading and writing NumPy .npy files.
 *
 * Layout (format versions 1.0, 2.0 and 3.0):
 *   bytes 0-5   magic "\x93NUMPY"
 *   byte  6, 7  major and minor version
 *   then        header length: uint16 little-endian (v1) or uint32 (v2, v3)
 *   then        ASCII header, a Python dict literal such as
 *               {'descr': '<f4', 'fortran_order': False, 'shape': (100, 512), }
 *               padded with spaces and a final '\n'
 *   then        the raw array data, C order unless fortran_order is True.
 * Only little-endian or byte-order-free ('|') numeric types are read. */
#ifndef TP_NPY_H
#define TP_NPY_H

#include "status.h"

/* Reads a 2-D float32 or float64 array into a new float buffer (rows, cols),
 * C order (a Fortran-order file is transposed on reading).  NaN and infinite
 * values are rejected with the row and column of the first one.  On success
 * *data is malloc'd and owned by the caller. */
tp_status npy_read_matrix(const char *path, float **data, int *rows, int *cols);

/* Reads integer labels: a 1-D array or an (N, 1) array of any integer type
 * (int8..int64, uint8..uint64).  Values must fit an int.  *labels is
 * malloc'd and owned by the caller. */
tp_status npy_read_labels(const char *path, int **labels, int *n);

/* Writes a 2-D float32 array (rows, cols) in format version 1.0. */
tp_status npy_write_f32(const char *path, const float *data, int rows, int cols);

/* Writes a 1-D int32 array in format version 1.0. */
tp_status npy_write_i32(const char *path, const int *data, int n);

#endif

/* Reading safetensors files (the weight format of Hugging Face checkpoints).
 *
 * Layout:
 *   bytes 0-7   N, the header length: uint64 little-endian
 *   bytes 8..   N bytes of UTF-8 JSON, an object mapping each tensor name to
 *               {"dtype": "F32", "shape": [512, 768], "data_offsets": [BEGIN, END]}
 *               and an optional "__metadata__" object of strings
 *   then        the data buffer; a tensor's bytes are [BEGIN, END) relative to
 *               the start of this buffer, row-major, little-endian.
 * END - BEGIN must equal the element count times the dtype size, and no two
 * tensors may overlap.  The file is mapped read-only with mmap, so opening a
 * checkpoint of several hundred MB reads only the header; the tensors that
 * are converted are the only ones paged in. */
#ifndef TP_SAFETENSORS_H
#define TP_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SAFETENSORS_MAX_DIMS 8
/* Headers above this size are rejected as corrupt (real ones are below 1 MiB). */
#define SAFETENSORS_MAX_HEADER ((uint64_t)100 << 20)

typedef struct safetensors_tensor {
	char *name;
	char dtype[8];          /* as written in the header: "F32", "F16", "BF16", "I64", ... */
	int elem_size;          /* bytes per element of dtype */
	int ndim;               /* 0 for a scalar */
	int64_t shape[SAFETENSORS_MAX_DIMS];
	size_t count;           /* number of elements (1 for a scalar) */
	size_t begin, end;      /* byte range in the data buffer */
} safetensors_tensor;

typedef struct safetensors safetensors;

/* Maps path and parses its header, checking every entry: known dtype,
 * shape, offsets inside the file, size equal to count times dtype size, no
 * overlap.  Errors name the file, the tensor and the bad value.  The caller
 * frees *out with safetensors_close(). */
tp_status safetensors_open(const char *path, safetensors **out);
void safetensors_close(safetensors *st);

int safetensors_count(const safetensors *st);
const safetensors_tensor *safetensors_at(const safetensors *st, int i);
/* Returns the tensor named name, or NULL when the file has none. */
const safetensors_tensor *safetensors_find(const safetensors *st, const char *name);
const char *safetensors_path(const safetensors *st);

/* Converts tensor t (F32, F16 or BF16) to float32 into dst (t->count).
 * Fails with TP_ERR_FORMAT naming the tensor for any other dtype, and for
 * NaN or infinite values. */
tp_status safetensors_read_f32(const safetensors *st, const safetensors_tensor *t, float *dst);

/* Converts one IEEE half or bfloat16 value to float. */
float safetensors_f16_to_f32(uint16_t h);
float safetensors_bf16_to_f32(uint16_t h);

#endif

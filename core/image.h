/* Images for the CLIP image encoder: PNG and JPEG decoding to 8-bit RGB,
 * the antialiased bicubic resize of PIL, and CLIP's preprocessing.
 *
 * Decoding (libpng 1.6, libjpeg-turbo):
 *   - the format comes from the file's first bytes, not its name;
 *   - greyscale is replicated to three channels, palette images are looked
 *     up, alpha is dropped without compositing (as PIL's convert("RGB")),
 *     16-bit PNG channels keep their high byte;
 *   - JPEG in greyscale, YCbCr or RGB is converted by libjpeg; CMYK and YCCK
 *     JPEGs are rejected;
 *   - EXIF orientation is ignored, as in Hugging Face's CLIPImageProcessor
 *     and OpenAI's CLIP preprocessing, so a rotated photo is encoded as
 *     stored;
 *   - an image whose header gives more than IMAGE_MAX_PIXELS pixels is
 *     rejected before any pixel buffer is allocated;
 *   - a truncated or corrupt file (including libjpeg's corrupt-data
 *     warnings) fails with TP_ERR_FORMAT naming the file.
 *
 * Preprocessing (image_clip_preprocess) follows CLIPImageProcessor: resize
 * the shorter side to S with the other side int(S * long / short), centre
 * crop S x S at offset (size - S) / 2 rounded down, scale to [0, 1], subtract
 * CLIP's mean and divide by its standard deviation, channel by channel.
 * (torchvision's CenterCrop, used by OpenAI's code, rounds an odd offset
 * half to even instead, so the two can differ by one pixel row.) */
#ifndef TP_IMAGE_H
#define TP_IMAGE_H

#include "status.h"

/* The largest image accepted, in pixels (width times height). */
#define IMAGE_MAX_PIXELS 100000000L

typedef struct image_rgb {
	int width, height;
	unsigned char *pixels;   /* (height, width, 3) row-major RGB, malloc'd */
} image_rgb;

/* Decodes the PNG or JPEG file path into *out; the caller frees it with
 * image_free().  Errors name the file: unreadable (TP_ERR_IO), not a PNG or
 * JPEG, truncated or corrupt, CMYK, or over IMAGE_MAX_PIXELS
 * (TP_ERR_FORMAT).  *out is left empty on failure. */
tp_status image_read(const char *path, image_rgb *out);

void image_free(image_rgb *im);

/* Resizes in to width x height into *out with PIL's antialiased bicubic
 * filter (Pillow 9.4, Image.resize with Image.BICUBIC): the cubic kernel
 * with a = -0.5 is stretched by the scale factor when shrinking, and the
 * horizontal pass runs first, rounding to 8 bits between the two passes, in
 * the same fixed-point arithmetic (22 fraction bits) as Pillow.  Either pass
 * is skipped when its size does not change. */
tp_status image_resize_bicubic(const image_rgb *in, int width, int height, image_rgb *out);

/* CLIP's mean and standard deviation of R, G and B on [0, 1]. */
extern const float image_clip_mean[3];
extern const float image_clip_std[3];

/* Writes the preprocessed image (3, size, size), channel-major, into out. */
tp_status image_clip_preprocess(const image_rgb *in, int size, float *out);

#endif

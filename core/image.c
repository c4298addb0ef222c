/* PNG and JPEG decoding to 8-bit RGB (the rules are in image.h). */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "image.h"

void image_free(image_rgb *im)
{
	if (!im)
		return;
	free(im->pixels);
	im->pixels = NULL;
	im->width = im->height = 0;
}

static tp_status check_size(const char *path, const char *format, long width, long height)
{
	if (width < 1 || height < 1)
		return tp_fail(TP_ERR_FORMAT, "image: '%s': %s header gives a size of %ld x %ld pixels: the file is corrupt",
			       path, format, width, height);
	if ((double)width * (double)height > (double)IMAGE_MAX_PIXELS)
		return tp_fail(TP_ERR_FORMAT, "image: '%s': %s header gives %ld x %ld pixels, over the limit of %ld million: scale the image down first",
			       path, format, width, height, IMAGE_MAX_PIXELS / 1000000);
	return TP_OK;
}

/* ---- PNG ---- */

typedef struct png_context {
	const char *path;
	char message[200];       /* libpng's error text */
	tp_status status;        /* set before a longjmp of our own */
	unsigned char *pixels;
	png_bytep *rows;
} png_context;

static void png_on_error(png_structp png, png_const_charp message)
{
	png_context *c = png_get_error_ptr(png);

	snprintf(c->message, sizeof c->message, "%s", message);
	png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp message)
{
	/* warnings (an odd colour profile, for example) leave the pixels intact */
	(void)png;
	(void)message;
}

/* Sets the transformations that turn any PNG into 8-bit RGB. */
static void png_setup_rgb8(png_structp png, png_infop info)
{
	int color = png_get_color_type(png, info);

	if (png_get_bit_depth(png, info) == 16)
		png_set_strip_16(png);
	if (color == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
		png_set_gray_to_rgb(png);
	if (color & PNG_COLOR_MASK_ALPHA)
		png_set_strip_alpha(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
}

static tp_status png_decode(FILE *f, const char *path, image_rgb *out)
{
	png_context c = { .path = path, .status = TP_OK };
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_on_error, png_on_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	png_uint_32 width, height;

	if (!png || !info) {
		png_destroy_read_struct(&png, &info, NULL);
		return tp_fail(TP_ERR_NOMEM, "image: out of memory for the PNG decoder of '%s'", path);
	}
	if (setjmp(png_jmpbuf(png))) {
		tp_status st = c.status;

		png_destroy_read_struct(&png, &info, NULL);
		free(c.pixels);
		free(c.rows);
		if (st != TP_OK)
			return st;
		return tp_fail(TP_ERR_FORMAT, "image: '%s' is a truncated or corrupt PNG (%s): skip it or export it again",
			       path, c.message);
	}
	png_init_io(png, f);
	png_read_info(png, info);
	width = png_get_image_width(png, info);
	height = png_get_image_height(png, info);
	c.status = check_size(path, "PNG", (long)width, (long)height);
	if (c.status != TP_OK)
		png_longjmp(png, 1);
	png_setup_rgb8(png, info);
	if (png_get_rowbytes(png, info) != (size_t)width * 3) {
		c.status = tp_fail(TP_ERR_FORMAT, "image: '%s': PNG rows of %zu bytes after conversion to RGB, expected %zu: unsupported PNG variant",
				   path, (size_t)png_get_rowbytes(png, info), (size_t)width * 3);
		png_longjmp(png, 1);
	}

	c.pixels = malloc((size_t)width * height * 3);
	c.rows = malloc((size_t)height * sizeof *c.rows);
	if (!c.pixels || !c.rows) {
		c.status = tp_fail(TP_ERR_NOMEM, "image: out of memory for '%s' (%u x %u pixels)", path,
				   (unsigned)width, (unsigned)height);
		png_longjmp(png, 1);
	}
	for (png_uint_32 y = 0; y < height; y++)
		c.rows[y] = c.pixels + (size_t)y * width * 3;
	png_read_image(png, c.rows);
	png_read_end(png, NULL);
	png_destroy_read_struct(&png, &info, NULL);
	free(c.rows);
	out->width = (int)width;
	out->height = (int)height;
	out->pixels = c.pixels;
	return TP_OK;
}

/* ---- JPEG ---- */

typedef struct jpeg_context {
	struct jpeg_error_mgr base;
	jmp_buf jump;
	char message[JMSG_LENGTH_MAX];
} jpeg_context;

static void jpeg_on_error(j_common_ptr cinfo)
{
	jpeg_context *c = (jpeg_context *)cinfo->err;

	c->base.format_message(cinfo, c->message);
	longjmp(c->jump, 1);
}

/* Counts corrupt-data warnings (level -1) without printing them; the
 * decoder checks the count at the end. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
	jpeg_context *c = (jpeg_context *)cinfo->err;

	if (level < 0) {
		if (c->base.num_warnings == 0)
			c->base.format_message(cinfo, c->message);
		c->base.num_warnings++;
	}
}

static tp_status jpeg_decode(FILE *f, const char *path, image_rgb *out)
{
	struct jpeg_decompress_struct cinfo;
	jpeg_context c;
	unsigned char *volatile pixels = NULL;
	volatile tp_status status = TP_OK;
	unsigned char *pixels_done;

	memset(&c, 0, sizeof c);
	cinfo.err = jpeg_std_error(&c.base);
	c.base.error_exit = jpeg_on_error;
	c.base.emit_message = jpeg_on_message;
	if (setjmp(c.jump)) {
		jpeg_destroy_decompress(&cinfo);
		free(pixels);
		if (status != TP_OK)
			return status;
		return tp_fail(TP_ERR_FORMAT, "image: '%s' is a truncated or corrupt JPEG (%s): skip it or export it again",
			       path, c.message);
	}
	jpeg_create_decompress(&cinfo);
	jpeg_stdio_src(&cinfo, f);
	jpeg_read_header(&cinfo, TRUE);
	status = check_size(path, "JPEG", (long)cinfo.image_width, (long)cinfo.image_height);
	if (status == TP_OK && (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK))
		status = tp_fail(TP_ERR_FORMAT, "image: '%s' is a CMYK JPEG, which is not supported: convert it to RGB",
				 path);
	if (status != TP_OK)
		longjmp(c.jump, 1);
	cinfo.out_color_space = JCS_RGB;
	jpeg_start_decompress(&cinfo);
	pixels = malloc((size_t)cinfo.output_width * cinfo.output_height * 3);
	if (!pixels) {
		status = tp_fail(TP_ERR_NOMEM, "image: out of memory for '%s' (%u x %u pixels)", path,
				 (unsigned)cinfo.output_width, (unsigned)cinfo.output_height);
		longjmp(c.jump, 1);
	}
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW row = pixels + (size_t)cinfo.output_scanline * cinfo.output_width * 3;

		jpeg_read_scanlines(&cinfo, &row, 1);
	}
	jpeg_finish_decompress(&cinfo);
	if (c.base.num_warnings > 0) {
		status = tp_fail(TP_ERR_FORMAT, "image: '%s' is a truncated or corrupt JPEG (%s): skip it or export it again",
				 path, c.message);
		longjmp(c.jump, 1);
	}
	out->width = (int)cinfo.output_width;
	out->height = (int)cinfo.output_height;
	pixels_done = pixels;
	out->pixels = pixels_done;
	jpeg_destroy_decompress(&cinfo);
	return TP_OK;
}

/* ---- by signature ---- */

static const char *other_format(const unsigned char *b, size_t n)
{
	if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
		return "a GIF image";
	if (n >= 2 && b[0] == 'B' && b[1] == 'M')
		return "a BMP image";
	if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
		return "a WebP image";
	if (n >= 4 && (memcmp(b, "II*", 4) == 0 || memcmp(b, "MM\0*", 4) == 0))
		return "a TIFF image";
	if (n == 0)
		return "an empty file";
	return "not an image";
}

tp_status image_read(const char *path, image_rgb *out)
{
	unsigned char sig[24];
	size_t n;
	tp_status st;
	FILE *f;

	out->width = out->height = 0;
	out->pixels = NULL;
	f = fopen(path, "rb");
	if (!f)
		return tp_fail(TP_ERR_IO, "image: cannot open '%s': %s", path, strerror(errno));
	n = fread(sig, 1, sizeof sig, f);
	rewind(f);
	if (n >= 8 && png_sig_cmp(sig, 0, 8) == 0) {
		/* the size in IHDR, the first chunk, is checked before libpng reads on */
		st = TP_OK;
		if (n == sizeof sig && memcmp(sig + 12, "IHDR", 4) == 0)
			st = check_size(path, "PNG", (long)png_get_uint_32(sig + 16), (long)png_get_uint_32(sig + 20));
		if (st == TP_OK)
			st = png_decode(f, path, out);
	}
	else if (n >= 3 && sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff)
		st = jpeg_decode(f, path, out);
	else
		st = tp_fail(TP_ERR_FORMAT, "image: '%s' is %s, expected PNG or JPEG: convert it or remove it from the folder",
			     path, other_format(sig, n));
	fclose(f);
	return st;
}

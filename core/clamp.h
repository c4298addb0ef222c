/* Clamping a value into a closed range, shared by the core, the figures
 * and the dashboard. */
#ifndef TP_CLAMP_H
#define TP_CLAMP_H

/* Returns v limited to lo..hi (lo <= hi). */
static inline int clamp_int(int v, int lo, int hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

/* Returns v limited to [lo, hi] (lo <= hi). */
static inline double clamp_double(double v, double lo, double hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

#endif

/* The memory floor of an Adam step, and STREAM's copy and triad: adam_nb's benchmark (nbs/04d_benchmark.ipynb)
   builds this file with the compiler and flags of the fused kernel (fused_adam.c) and explains every function.
   No arithmetic to speak of: what is left is the cost of moving the bytes. */
#include <stdint.h>
#include <stdlib.h>

/* The columns of the table the caller passes, one row per tensor: the four arrays of fused_adam.c's
   table that every Adam step touches, and the size (not amsgrad's maxima, not the step counter).
   The table is built once, before the steps are timed, so its layout costs nothing per call. */
enum { PARAM, GRAD, EXP_AVG, EXP_AVG_SQ, NUMEL, COLUMNS };

/* Adam's memory traffic without Adam: read theta, g, m, v and write theta, m, v back in place, for every
   tensor of `table`, cut into chunks of `chunk` elements shared among `threads` OpenMP threads exactly as
   the fused kernel shares them. Each written value is the old one plus s g: with s = 0 nothing changes
   (the bytes still move: the compiler may not drop an add of 0 * g without fast-math), with s = 1 a test
   can see that every element was visited. Returns 0, or -1 when out of memory. */
int adam_nb_floor_float(int64_t n, const int64_t *table, float s, int threads, int64_t chunk) {
  int64_t *first = malloc((size_t)(n + 1) * sizeof(int64_t));   /* first[k]: the first chunk of tensor k */
  if (!first) return -1;
  first[0] = 0;
  for (int64_t k = 0; k < n; k++) first[k + 1] = first[k] + (table[k * COLUMNS + NUMEL] + chunk - 1) / chunk;
  const int64_t total = first[n];
  #pragma omp parallel for schedule(static) num_threads(threads) if(threads > 1 && total > 1)
  for (int64_t ch = 0; ch < total; ch++) {
    int64_t k = 0, end = n;                   /* the tensor k with first[k] <= ch < first[k+1] */
    while (end - k > 1) { int64_t mid = (k + end) / 2; if (first[mid] <= ch) k = mid; else end = mid; }
    const int64_t *row = table + k * COLUMNS;
    const int64_t lo = (ch - first[k]) * chunk, hi = lo + chunk < row[NUMEL] ? lo + chunk : row[NUMEL];
    float *restrict p = (float *)(intptr_t)row[PARAM], *restrict m = (float *)(intptr_t)row[EXP_AVG];
    float *restrict v = (float *)(intptr_t)row[EXP_AVG_SQ];
    const float *restrict g = (const float *)(intptr_t)row[GRAD];
    for (int64_t i = lo; i < hi; i++) {
      const float sg = s * g[i];
      p[i] = p[i] + sg; m[i] = m[i] + sg; v[i] = v[i] + sg;
    }
  }
  free(first);
  return 0;
}

/* STREAM's copy, c <- a, and triad, a <- b + s c, on n doubles (STREAM's kernels and names), split among
   `threads` OpenMP threads in equal static blocks. */
void adam_nb_stream_copy(int64_t n, const double *restrict a, double *restrict c, int threads) {
  #pragma omp parallel for schedule(static) num_threads(threads) if(threads > 1)
  for (int64_t i = 0; i < n; i++) c[i] = a[i];
}

void adam_nb_stream_triad(int64_t n, double *restrict a, const double *restrict b, const double *restrict c,
                          double s, int threads) {
  #pragma omp parallel for schedule(static) num_threads(threads) if(threads > 1)
  for (int64_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}

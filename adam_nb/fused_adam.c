/* adam_nb's fused Adam step on the CPU: torch's single-tensor Adam, element by element, for every
   tensor of a param group in one call. Literate source: nbs/04b_fused.ipynb explains every line. */
#include <stdint.h>
#include <stdlib.h>
#include <math.h>

/* Which terms to apply: the bits of `flags`. The Python side (adam_nb.fused.KernelFlags) sets the
   first four; the kernel sets LERP_FROM_START itself, from beta1. */
enum { MAXIMIZE = 1, WEIGHT_DECAY = 2, DECOUPLED = 4, AMSGRAD = 8, LERP_FROM_START = 16 };

/* The columns of the table the caller passes, one after the other: column c holds the addresses
   (or, for NUMEL, the sizes) of all n tensors, at table[c * n + k] for tensor k. The caller
   guarantees that the tensors of one row are dense with the same strides, so that element i of
   each sits at offset i from its start. */
enum { PARAM, GRAD, EXP_AVG, EXP_AVG_SQ, MAX_EXP_AVG_SQ, STEP, NUMEL, COLUMNS };
#define AT(column, k) table[(column) * n + (k)]

/* The hyperparameters as the element loop uses them, computed once per call in double precision. */
typedef struct {
  double one_minus_beta1;  /* weight of g in m's lerp */
  double beta2, one_minus_beta2;
  double weight_decay;     /* lambda of L2 decay */
  double decay;            /* 1 - lr lambda, decoupled decay's factor */
  double eps;
} coefficients;

/* Elements [lo, hi) of one tensor. Inlined into one copy per value of `flags`, so that each copy
   is a loop without branches, which the compiler vectorises. */
#define ADAM_RANGE(T, SQRT)                                                                     \
static inline __attribute__((always_inline)) void adam_range_##T(                              \
    T *restrict p, const T *restrict g, T *restrict m, T *restrict v, T *restrict vmax,         \
    int64_t lo, int64_t hi, const int flags, const coefficients *c,                            \
    double step_size, double bias_correction2_sqrt) {                                          \
  const T w = (T)c->one_minus_beta1, one_minus_w = (T)1 - w;                                    \
  const T beta2 = (T)c->beta2, one_minus_beta2 = (T)c->one_minus_beta2;                         \
  const T weight_decay = (T)c->weight_decay, decay = (T)c->decay, eps = (T)c->eps;              \
  const T lr_t = (T)step_size, bc2_sqrt = (T)bias_correction2_sqrt;                             \
  for (int64_t i = lo; i < hi; i++) {                                                           \
    T gi = (flags & MAXIMIZE) ? -g[i] : g[i], pi = p[i];                                        \
    if (flags & WEIGHT_DECAY) {                                                                 \
      if (flags & DECOUPLED) pi = pi * decay;              /* AdamW: p <- p (1 - lr wd) */      \
      else gi = gi + pi * weight_decay; }                  /* L2: g <- g + wd p */              \
    T d = gi - m[i];                                       /* m <- lerp(m, g, 1-b1), as torch */ \
    T mi = (flags & LERP_FROM_START) ? m[i] + w * d : gi - d * one_minus_w;                     \
    T vi = v[i] * beta2 + one_minus_beta2 * gi * gi;       /* v <- b2 v + (1-b2) g^2 */         \
    m[i] = mi; v[i] = vi;                                                                       \
    if (flags & AMSGRAD) { T a = vmax[i]; vi = (a > vi || a != a) ? a : vi; vmax[i] = vi; }      \
    p[i] = pi - lr_t * mi / (SQRT(vi) / bc2_sqrt + eps);   /* eps after the bias correction */  \
  }                                                                                             \
}

#define CASE(F, T) case F: adam_range_##T(p, g, m, v, vmax, lo, hi, F, &c, step_size[k], bc2_sqrt[k]); break;
#define CASES8(F, T) CASE(F, T) CASE(F + 1, T) CASE(F + 2, T) CASE(F + 3, T) \
                     CASE(F + 4, T) CASE(F + 5, T) CASE(F + 6, T) CASE(F + 7, T)

/* One Adam step of every tensor in `table`: count the step and compute the bias corrections per
   tensor, then cut the tensors into chunks of `chunk` elements and share the chunks among
   `threads` OpenMP threads. With GradScaler's tensors (NULL without): nothing at all happens when
   *found_inf is 1 (the step is skipped and not counted), and each gradient is divided by
   *grad_scale, in place, before it is used, as torch's fused step does.
   Returns 0, or -1 when out of memory (nothing is changed then). */
#define ADAM_GROUP(T)                                                                           \
int adam_nb_fused_##T(int64_t n, const int64_t *table, double lr, double beta1, double beta2,   \
                      double eps, double wd, int flags, int threads, int64_t chunk,             \
                      const float *grad_scale, const float *found_inf) {                        \
  if (found_inf && *found_inf == 1.0f) return 0;                                                \
  double *step_size = malloc((size_t)(3 * n + 1) * sizeof(double));                            \
  if (!step_size) return -1;                                                                    \
  double *bc2_sqrt = step_size + n;                                                             \
  int64_t *first = (int64_t *)(bc2_sqrt + n);   /* first[k]: the first chunk of tensor k */     \
  const coefficients c = {1 - beta1, beta2, 1 - beta2, wd, 1 - lr * wd, eps};                   \
  if (fabs(c.one_minus_beta1) < 0.5) flags |= LERP_FROM_START;  /* torch's lerp switches form at 1/2 */ \
  first[0] = 0;                                                                                 \
  for (int64_t k = 0; k < n; k++) {                                                             \
    float *step = (float *)(intptr_t)AT(STEP, k);                                               \
    double t = (double)(*step += 1.0f);                                                         \
    step_size[k] = lr / (1 - pow(beta1, t));                                                    \
    bc2_sqrt[k] = sqrt(1 - pow(beta2, t));                                                      \
    first[k + 1] = first[k] + (AT(NUMEL, k) + chunk - 1) / chunk;                               \
  }                                                                                             \
  const int64_t total = first[n];                                                               \
  _Pragma("omp parallel for schedule(static) num_threads(threads) if(threads > 1 && total > 1)") \
  for (int64_t ch = 0; ch < total; ch++) {                                                      \
    int64_t k = 0, end = n;                  /* the tensor k with first[k] <= ch < first[k+1] */ \
    while (end - k > 1) { int64_t mid = (k + end) / 2; if (first[mid] <= ch) k = mid; else end = mid; } \
    const int64_t numel = AT(NUMEL, k), lo = (ch - first[k]) * chunk, hi = lo + chunk < numel ? lo + chunk : numel; \
    T *p = (T *)(intptr_t)AT(PARAM, k), *g = (T *)(intptr_t)AT(GRAD, k), *m = (T *)(intptr_t)AT(EXP_AVG, k); \
    T *v = (T *)(intptr_t)AT(EXP_AVG_SQ, k), *vmax = (T *)(intptr_t)AT(MAX_EXP_AVG_SQ, k);      \
    if (grad_scale) { const T s = (T)*grad_scale; for (int64_t i = lo; i < hi; i++) g[i] = g[i] / s; } \
    switch (flags) { CASES8(0, T) CASES8(8, T) CASES8(16, T) CASES8(24, T) }                    \
  }                                                                                             \
  free(step_size);                                                                              \
  return 0;                                                                                     \
}

ADAM_RANGE(float, sqrtf)
ADAM_RANGE(double, sqrt)
ADAM_GROUP(float)
ADAM_GROUP(double)

/*
 * The CPU's FMA throughput bound at 128 and 256 bits, for comparing Unfold's wasm sgemm
 * (128-bit SIMD only) with what the hardware can do. Not part of any test or of `npm run bench`
 * (it needs a C compiler):
 *
 *   gcc -O2 -mfma -mavx2 benchmarks/native/fma-peak.c -o /tmp/fma-peak && /tmp/fma-peak
 *
 * Clock: a chain of dependent integer adds, one per cycle. FMA: k independent accumulators
 * acc = acc·x + y, unrolled; with k ≥ (FMA latency × FMA ports) the loop runs at the ports' bound.
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define FMA_LOOP(T, SET, FMADD, STORE, K, LANES)                                   \
  {                                                                                \
    T acc[K];                                                                      \
    for (int k = 0; k < K; k++) acc[k] = SET(0.001f * k);                          \
    const T x = SET(0.999f), y = SET(0.0001f);                                     \
    const long m = 100000000;                                                      \
    double t0 = now();                                                             \
    for (long i = 0; i < m; i++) {                                                 \
      _Pragma("GCC unroll 16") for (int k = 0; k < K; k++) acc[k] = FMADD(acc[k], x, y); \
    }                                                                              \
    double dt = now() - t0;                                                        \
    float v[8], s = 0;                                                             \
    for (int k = 0; k < K; k++) { STORE(v, acc[k]); s += v[0]; }                   \
    printf("%3d-bit FMA, %2d accumulators: %6.1f GFLOP/s  (checksum %.3f)\n", 32 * LANES, K, 2.0 * LANES * K * m / dt / 1e9, s); \
  }

int main(void) {
  long n = 1000000000, a = 0;
  double t0 = now();
  for (long i = 0; i < n; i++) __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(a));
  printf("clock ≈ %.2f GHz\n", 4.0 * n / (now() - t0) / 1e9);
  FMA_LOOP(__m128, _mm_set1_ps, _mm_fmadd_ps, _mm_storeu_ps, 8, 4)
  FMA_LOOP(__m128, _mm_set1_ps, _mm_fmadd_ps, _mm_storeu_ps, 12, 4)
  FMA_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_storeu_ps, 12, 8)
  return 0;
}

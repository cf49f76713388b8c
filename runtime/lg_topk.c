#include "lg_topk.h"

#include <math.h>

void lg_softmax(const float *logits, int n, float *probs) {
  double max = -INFINITY, sum = 0.0;
  int has_nan = 0, n_posinf = 0;

  if (n <= 0)
    return;
  for (int i = 0; i < n; i++) {
    if (isnan(logits[i]))
      has_nan = 1;
    else if (logits[i] > max)
      max = logits[i];
    n_posinf += isinf(logits[i]) && logits[i] > 0;
  }
  if (has_nan) {
    for (int i = 0; i < n; i++)
      probs[i] = NAN;
    return;
  }
  if (max == -INFINITY) { /* every logit is -inf: no preference */
    for (int i = 0; i < n; i++)
      probs[i] = (float)(1.0 / n);
    return;
  }
  if (n_posinf) {
    for (int i = 0; i < n; i++)
      probs[i] = isinf(logits[i]) && logits[i] > 0 ? (float)(1.0 / n_posinf) : 0.0f;
    return;
  }
  for (int i = 0; i < n; i++)
    sum += exp((double)logits[i] - max);
  for (int i = 0; i < n; i++)
    probs[i] = (float)(exp((double)logits[i] - max) / sum);
}

/* Does v[a] rank strictly above v[b]? Only asked for a > b, so a tie keeps
 * the lower index b in front. */
static int ranks_above(const float *v, int a, int b) {
  if (isnan(v[b]))
    return !isnan(v[a]);
  return v[a] > v[b];
}

/* Insertion into a sorted prefix: O(n k), fine for the k of a top-k print
 * and still only n^2 = 1e6 steps for a full ImageNet ranking. */
int lg_topk(const float *v, int n, int k, int *idx_out) {
  int m = 0;
  if (k > n)
    k = n;
  if (k <= 0)
    return 0;
  for (int i = 0; i < n; i++) {
    if (m == k && !ranks_above(v, i, idx_out[m - 1]))
      continue;
    int j = m < k ? m++ : k - 1;
    while (j > 0 && ranks_above(v, i, idx_out[j - 1])) {
      idx_out[j] = idx_out[j - 1];
      j--;
    }
    idx_out[j] = i;
  }
  return m;
}

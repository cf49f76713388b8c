/* lg_topk: turning a logits vector (n,) into the answer a user reads. */
#ifndef LG_TOPK_H
#define LG_TOPK_H

/* probs (n,) = softmax(logits (n,)), max-subtracted with the exponentials
 * summed in double. All -inf gives a uniform distribution; +inf entries
 * share probability 1; any NaN makes every probability NaN. probs may alias
 * logits. */
void lg_softmax(const float *logits, int n, float *probs);

/* Indices of the k largest values of v (n,), largest first, into idx_out
 * (k,). Equal values rank by lower index; NaN ranks below every number.
 * k is clamped to [0, n]; returns the number of indices written. */
int lg_topk(const float *v, int n, int k, int *idx_out);

#endif

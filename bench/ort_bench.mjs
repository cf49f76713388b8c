// Times one ONNX model with ONNX Runtime (onnxruntime-node, CPU execution provider).
//
//   node bench/ort_bench.mjs --model M.onnx --input IN.f32 --shape N,C,H,W \
//        --threads T --runs R [--warmup W] --output OUT.f32
//
// IN.f32 is raw float32 NCHW; OUT.f32 receives the first output of the last run.
// Prints one JSON line: min and median (element R/2 of the sorted times, as the
// generated classifier's --bench does) in ms, and the onnxruntime version.
// run.py starts it once per thread count; intraOpNumThreads = T, one inter-op
// thread, sequential execution, graphOptimizationLevel 'all' less Pad_Fusion (see below).
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' }, input: { type: 'string' }, shape: { type: 'string' },
    threads: { type: 'string' }, runs: { type: 'string' }, warmup: { type: 'string', default: '2' },
    output: { type: 'string' },
  },
});
for (const k of ['model', 'input', 'shape', 'threads', 'runs', 'output']) {
  if (a[k] === undefined) {
    console.error(`ort_bench: --${k} is required`);
    process.exit(2);
  }
}

const shape = a.shape.split(',').map(Number);
const raw = readFileSync(a.input);
const data = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
if (data.length !== shape.reduce((p, d) => p * d, 1)) {
  console.error(`ort_bench: ${a.input} holds ${data.length} floats, shape ${a.shape} needs another count`);
  process.exit(2);
}

const session = await ort.InferenceSession.create(a.model, {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  intraOpNumThreads: Number(a.threads),
  interOpNumThreads: 1,
  // Pad_Fusion folds a Pad(0) into a following MaxPool's pads, but MaxPool pads
  // with -inf: BiT's stem (conv -> zero pad -> max pool) comes out wrong. Torch's
  // export puts conv padding into Conv itself, so nothing else here needs it.
  extra: { optimization: { disable_specified_optimizers: 'Pad_Fusion' } },
});
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };

let out;
for (let i = 0; i < Number(a.warmup); i++) out = await session.run(feeds);
const times = [];
for (let i = 0; i < Number(a.runs); i++) {
  const t0 = performance.now();
  out = await session.run(feeds);
  times.push(performance.now() - t0);
}
const y = out[session.outputNames[0]].data;
writeFileSync(a.output, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
times.sort((p, q) => p - q);
console.log(JSON.stringify({
  min_ms: times[0], median_ms: times[times.length >> 1], runs: times.length, threads: Number(a.threads),
  onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
}));
await session.release();

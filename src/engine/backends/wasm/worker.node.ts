// Node entry of a pool worker (a worker_threads script): takes WorkerInit from workerData,
// instantiates the kernel module on the shared memory, says "ready", then runs the blocking job loop.
// All pool logic is in worker-loop.ts; this file only binds it to worker_threads.

import { parentPort, workerData } from 'node:worker_threads';
import { instantiateKernels, runWorkerLoop, type WorkerInit } from './worker-loop.js';

const init = workerData as WorkerInit;
const exports = instantiateKernels(init.module, init.memory);
runWorkerLoop(init, exports, () => parentPort!.postMessage('ready'));

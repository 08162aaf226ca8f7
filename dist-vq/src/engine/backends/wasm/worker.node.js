// Node entry of a pool worker (a worker_threads script): takes WorkerInit from workerData,
// instantiates the kernel module on the shared memory, says "ready", then runs the blocking job loop.
// All pool logic is in worker-loop.ts; this file only binds it to worker_threads.
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateKernels, runWorkerLoop } from './worker-loop.js';
const init = workerData;
const exports = instantiateKernels(init.module, init.memory);
parentPort.postMessage('ready');
runWorkerLoop(init, exports);
//# sourceMappingURL=worker.node.js.map
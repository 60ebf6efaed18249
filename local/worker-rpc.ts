/**
 * Request/reply over a worker thread, for the runtime's TypeScript workers (the DynamoDB write worker,
 * the time-series worker): the host posts `{ id, ...request }`, the worker answers `{ id, result }` or
 * `{ id, error }`; id 0 is the worker's start-up message. Errors keep their name (a RangeError stays a
 * RangeError: the API turns those into 400s).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { parentPort, Worker } from 'node:worker_threads';

interface Reply {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
}

/**
 * Module hooks are not inherited by worker threads (not even tsx's from `node --import tsx`): a small
 * bootstrap registers tsx in the thread, then imports the TypeScript worker.
 */
function bootstrap(file: URL): string {
  const require = createRequire(import.meta.url);
  // The ESM entry of tsx/esm/api (require.resolve would give its CommonJS one).
  const tsxDir = dirname(require.resolve('tsx/package.json'));
  const tsx = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  return `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); });`;
}

/**
 * A worker thread's own memory: its V8 isolate's heap, the ArrayBuffers and external memory that
 * isolate holds, and whatever the worker adds about its native parts (DuckDB's buffer manager, say).
 */
export interface WorkerMemory {
  readonly what: string;
  readonly heapUsed: number;
  /** Heap the isolate has committed (what it takes of the process's RSS). */
  readonly heapCommitted: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly native?: Readonly<Record<string, number>>;
}

/**
 * The worker threads' semi-space ceiling in MB (V8's default). `npm start` gives the pipeline thread
 * --max-semi-space-size=64 (local/README.md), but V8 flags are process-wide, so each worker isolate
 * got a young generation as large (128 MB of new space). `resourceLimits.maxYoungGenerationSizeMb`
 * does not help: the flag overrides it (Node 20, measured: the worker's new space still reached
 * 128 MB). Lowering the flag before a Worker is created configures that isolate only; the main
 * thread's heap was configured at start and keeps 64. Figures in docs/local-memory.md.
 */
export const WORKER_SEMI_SPACE_MB = 16;

/** The `op` of a host's request for a WorkerMemory, answered by serveRequests itself. */
const MEMORY_REQUEST = '__workerMemory';
/** The `op` of a forced exit's message: end what the worker is running now (see holdWorkers). */
const INTERRUPT_REQUEST = '__interrupt';
/** The id of that message: no reply is awaited. */
const INTERRUPT_ID = -1;
/** How often a held worker is told again to interrupt, until its calls have ended. */
const INTERRUPT_EVERY_MS = 100;

/** Live workers, so a diagnostic (bench:soak's memory probe) can ask each for its memory. */
const liveWorkers = new Set<{
  readonly what: string;
  readonly worker: Worker;
  memory(): Promise<WorkerMemory>;
  hold(): Promise<void>;
}>();

/**
 * Before a forced exit (a second Ctrl+C, a stop past its bound): every live worker stops taking calls,
 * is asked to interrupt what it runs (the time-series worker interrupts DuckDB's running statement and
 * starts no other), and the calls it was running end, for at most `withinMs`; answers whether they all
 * did. process.exit tears the worker threads down, and it must not while a native call runs: the
 * thread's teardown waits for that call to complete, however long (a long CHECKPOINT or query held
 * the exit for minutes, measured), and DuckDB's binding then throws a Napi::Error from the completion
 * of its async work, which aborts the process (`terminate called after throwing an instance of
 * 'Napi::Error'`). The callers of held calls are never told how they ended, so none takes an
 * interrupted call for a failure (no retry, no dead letter) while the process exits.
 */
export async function holdWorkers(withinMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), withinMs);
  });
  const settled = Promise.all([...liveWorkers].map((live) => live.hold())).then(() => true as const);
  try {
    return await Promise.race([settled, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every live worker thread's memory, as each measures it in its own isolate. */
export function workerMemory(): Promise<WorkerMemory[]> {
  return Promise.all([...liveWorkers].map((live) => live.memory()));
}

/** Writes a heap snapshot of each live worker thread into `dir`; answers the files written. */
export async function writeWorkerHeapSnapshots(dir: string, label: string): Promise<string[]> {
  const { createWriteStream } = await import('node:fs');
  const { pipeline } = await import('node:stream/promises');
  const files: string[] = [];
  for (const live of liveWorkers) {
    const file = join(dir, `${label}-${live.what.replace(/\W+/g, '-')}.heapsnapshot`);
    await pipeline(await live.worker.getHeapSnapshot(), createWriteStream(file));
    files.push(file);
  }
  return files;
}

function toError(error: { name: string; message: string }): Error {
  const made = error.name === 'RangeError' ? new RangeError(error.message) : new Error(error.message);
  if (made.name !== error.name) made.name = error.name;
  return made;
}

export interface WorkerRpc {
  /** What the worker sent when it was ready. */
  readonly hello: unknown;
  call<T = void>(request: object): Promise<T>;
  /** Waits for the calls in flight, sends `last` (if given) and ends the thread. */
  close(last?: object): Promise<void>;
}

export async function startWorker(file: URL, workerData: unknown, what: string): Promise<WorkerRpc> {
  // Issue 18 item 7: the worker isolates' young generation, see WORKER_SEMI_SPACE_MB.
  setFlagsFromString(`--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`);
  const worker = new Worker(bootstrap(file), { eval: true, workerData });
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let exited: Error | undefined;
  const started = new Promise<unknown>((resolve, reject) => waiting.set(0, { resolve, reject }));
  worker.on('message', (reply: Reply) => {
    const waiter = waiting.get(reply.id);
    if (!waiter) return;
    waiting.delete(reply.id);
    if (reply.error) waiter.reject(toError(reply.error));
    else waiter.resolve(reply.result);
  });
  const failAll = (error: Error) => {
    exited ??= error;
    for (const waiter of waiting.values()) waiter.reject(error);
    waiting.clear();
  };
  worker.on('error', (error) => failAll(new Error(`the ${what} failed: ${error.message}`)));
  worker.on('exit', (code) => failAll(new Error(`the ${what} exited (code ${code})`)));

  let held = false;
  const call = <T>(request: object): Promise<T> => {
    if (exited) return Promise.reject(exited);
    if (held) return new Promise<T>(() => undefined);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...request, id });
    });
  };

  /**
   * Settles once every call now in flight has, whatever its outcome; with `tellCallers` false (a forced
   * exit) their callers are no longer told that outcome.
   */
  const inFlightSettled = async (tellCallers = true): Promise<void> => {
    const inFlight = [...waiting.values()].map(
      (waiter) =>
        new Promise<void>((settled) => {
          const { resolve, reject } = waiter;
          waiter.resolve = (value) => {
            if (tellCallers) resolve(value);
            settled();
          };
          waiter.reject = (error) => {
            if (tellCallers) reject(error);
            settled();
          };
        }),
    );
    await Promise.all(inFlight);
  };

  let hello: unknown;
  try {
    hello = await started;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  const live = {
    what,
    worker,
    memory: () =>
      call<Omit<WorkerMemory, 'what'>>({ op: MEMORY_REQUEST }).then((memory) => ({ what, ...memory })),
    hold: () => {
      held = true;
      const ended = inFlightSettled(false);
      // Again and again until they have ended: a statement queued natively but not begun when the
      // first interrupt came may start afterwards, uninterrupted.
      const interrupt = () => {
        if (!exited) worker.postMessage({ op: INTERRUPT_REQUEST, id: INTERRUPT_ID });
      };
      interrupt();
      const again = setInterval(interrupt, INTERRUPT_EVERY_MS).unref();
      return ended.then(() => clearInterval(again));
    },
  };
  liveWorkers.add(live);
  worker.once('exit', () => liveWorkers.delete(live));
  let closing: Promise<void> | undefined;
  return {
    hello,
    call,
    close(last) {
      closing ??= (async () => {
        await inFlightSettled();
        if (last && !exited) await call(last).catch(() => undefined);
        await worker.terminate();
      })();
      return closing;
    },
  };
}

/** This thread's isolate memory, plus what `native` adds. */
async function ownMemory(
  native: (() => Promise<Record<string, number>>) | undefined,
): Promise<Omit<WorkerMemory, 'what'>> {
  const usage = process.memoryUsage();
  const heap = getHeapStatistics();
  return {
    heapUsed: heap.used_heap_size,
    heapCommitted: heap.total_physical_size,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    ...(native ? { native: await native() } : {}),
  };
}

/** What a worker adds to serveRequests about its native parts. */
export interface NativeParts {
  /** Its native memory by tag (DuckDB's buffer manager, say), for the host's memory requests. */
  readonly memory?: () => Promise<Record<string, number>>;
  /**
   * Ends the native work running now, soon, and starts no more (a forced exit, see holdWorkers): the
   * requests being served then answer, with an error if need be.
   */
  readonly interrupt?: () => void;
}

/**
 * Worker side: answers each request with `handle`'s result; tells the host `hello` first. A host's
 * memory request and a forced exit's interrupt are served here, with `native`.
 */
export function serveRequests(
  handle: (request: { readonly id: number }) => Promise<unknown>,
  hello: unknown,
  native: NativeParts = {},
): void {
  const port = parentPort;
  if (!port) throw new Error('serveRequests runs in a worker thread');
  port.on('message', (request: { readonly id: number; readonly op?: unknown }) => {
    if (request.op === INTERRUPT_REQUEST) {
      native.interrupt?.();
      return;
    }
    // The replies keep only the id: a request can be large (a batch of records), and is not held
    // while it is served.
    const id = request.id;
    const answer = request.op === MEMORY_REQUEST ? ownMemory(native.memory) : handle(request);
    answer.then(
      (result) => port.postMessage({ id, result } satisfies Reply),
      (error: unknown) =>
        port.postMessage({
          id,
          error:
            error instanceof Error
              ? { name: error.name, message: error.message }
              : { name: 'Error', message: String(error) },
        } satisfies Reply),
    );
  });
  port.postMessage({ id: 0, result: hello } satisfies Reply);
}

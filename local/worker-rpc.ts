/**
 * Request/reply over a worker thread, for the runtime's TypeScript workers (the DynamoDB write worker,
 * the time-series worker): the host posts `{ id, ...request }`, the worker answers `{ id, result }` or
 * `{ id, error }`; id 0 is the worker's start-up message. Errors keep their name (a RangeError stays a
 * RangeError: the API turns those into 400s).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
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

  const call = <T>(request: object): Promise<T> => {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...request, id });
    });
  };

  let hello: unknown;
  try {
    hello = await started;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    hello,
    call,
    close(last) {
      closing ??= (async () => {
        const inFlight = [...waiting.values()].map(
          (waiter) =>
            new Promise<void>((settled) => {
              const { resolve, reject } = waiter;
              waiter.resolve = (value) => {
                resolve(value);
                settled();
              };
              waiter.reject = (error) => {
                reject(error);
                settled();
              };
            }),
        );
        await Promise.all(inFlight);
        if (last && !exited) await call(last).catch(() => undefined);
        await worker.terminate();
      })();
      return closing;
    },
  };
}

/** Worker side: answers each request with `handle`'s result; tells the host `hello` first. */
export function serveRequests(
  handle: (request: { readonly id: number }) => Promise<unknown>,
  hello: unknown,
): void {
  const port = parentPort;
  if (!port) throw new Error('serveRequests runs in a worker thread');
  port.on('message', (request: { readonly id: number }) => {
    // The replies keep only the id: a request can be large (a batch of records), and is not held
    // while it is served.
    const id = request.id;
    handle(request).then(
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

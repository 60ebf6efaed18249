/**
 * Preloaded (`--import`) into a platform process by forced-exit.test.ts: the HTTP servers' close()
 * never calls back, so a drained stop cannot finish on its own and the test's second signal surely
 * lands during the drain, whatever the machine's speed. Everything else runs as `npm start` runs it.
 */
import { Server } from 'node:http';

const close = Server.prototype.close;
Server.prototype.close = function heldClose(this: Server) {
  return close.call(this, () => undefined);
};

// JSON-RPC 2.0 over any byte stream, one JSON message per line (NDJSON).
// Used by the agent's server (one peer per client connection) and by the
// extension's client. Every incoming line is size-checked, parsed, and its
// envelope validated; params and results are validated against the API
// schemas by the typed helpers below. A bad message gets a JSON-RPC error
// reply (or is reported) and never throws out of the peer.

import type { Duplex } from 'node:stream';
import {
  ErrorCodes, MAX_MESSAGE_BYTES, Methods, MethodName, Notifications, NotificationName,
  NotificationParams, Params, Result, isMethodName, isNotificationName,
} from './api';
import { parseTolerant, SchemaError } from './schema';

export class RpcFailure extends Error {
  constructor(readonly code: number, message: string, readonly data?: Record<string, unknown>) {
    super(message);
    this.name = 'RpcFailure';
  }
}

type Id = string | number;
interface Envelope {
  jsonrpc: '2.0';
  id?: Id | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** Splits a byte stream into lines, refusing any line longer than `maxBytes`. */
export class LineDecoder {
  private buf: Buffer[] = [];
  private len = 0;
  private discarding = false;
  constructor(private readonly maxBytes: number, private readonly onLine: (line: string) => void, private readonly onOversize: () => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) {
        this.append(chunk.subarray(start));
        return;
      }
      this.append(chunk.subarray(start, nl));
      if (this.discarding) this.discarding = false;
      else {
        const line = Buffer.concat(this.buf, this.len).toString('utf8');
        if (line.trim()) this.onLine(line);
      }
      this.buf = [];
      this.len = 0;
      start = nl + 1;
    }
  }

  private append(part: Buffer): void {
    if (this.discarding || part.length === 0) return;
    if (this.len + part.length > this.maxBytes) {
      this.buf = [];
      this.len = 0;
      this.discarding = true;
      this.onOversize();
      return;
    }
    this.buf.push(Buffer.from(part));
    this.len += part.length;
  }
}

/**
 * An envelope the peer cannot accept. `id` is the request's own id when it could be
 * read, so the error answers that request (its caller does not wait for a timeout);
 * null otherwise, as JSON-RPC 2.0 says.
 */
class EnvelopeError extends RpcFailure {
  constructor(code: number, message: string, readonly id: Id | null = null) {
    super(code, message);
  }
}

function parseEnvelope(line: string): Envelope | EnvelopeError {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return new EnvelopeError(ErrorCodes.ParseError, `parse error: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return new EnvelopeError(ErrorCodes.InvalidRequest, 'a message must be a JSON object (batches are not supported)');
  const m = v as Record<string, unknown>;
  if (m.id !== undefined && m.id !== null && typeof m.id !== 'string' && !(typeof m.id === 'number' && Number.isInteger(m.id))) {
    return new EnvelopeError(ErrorCodes.InvalidRequest, 'id must be a string or an integer');
  }
  // Only a request's id is echoed: an answer to a malformed response would look like a response to the other side.
  const id = 'method' in m ? ((m.id ?? null) as Id | null) : null;
  const bad = (code: number, message: string) => new EnvelopeError(code, message, id);
  if (m.jsonrpc !== '2.0') return bad(ErrorCodes.InvalidRequest, 'jsonrpc must be "2.0"');
  if (m.method !== undefined && typeof m.method !== 'string') return bad(ErrorCodes.InvalidRequest, 'method must be a string');
  if (m.params !== undefined && (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params))) {
    return bad(ErrorCodes.InvalidParams, 'params must be an object (by-name parameters)');
  }
  if (m.error !== undefined) {
    const e = m.error as Record<string, unknown>;
    if (typeof e !== 'object' || e === null || typeof e.code !== 'number' || typeof e.message !== 'string') {
      return bad(ErrorCodes.InvalidRequest, 'error must be {code, message}');
    }
  }
  return m as unknown as Envelope;
}

export type RequestHandler = (method: MethodName, params: unknown, peer: RpcPeer) => Promise<unknown>;
export type NotificationHandler = <N extends NotificationName>(name: N, params: NotificationParams<N>) => void;

export interface PeerOptions {
  /** Handles requests (server side). Params are already validated against the method's schema. */
  onRequest?: RequestHandler;
  /** Receives validated notifications (client side). */
  onNotification?: NotificationHandler;
  /** Called for anything the peer could not accept from the other side. */
  onProtocolError?: (err: Error) => void;
  /** Default timeout for calls, ms. */
  callTimeoutMs?: number;
  maxMessageBytes?: number;
  /** Most bytes queued for writing before the peer is considered stuck and closed. */
  maxQueuedBytes?: number;
}

export class RpcPeer {
  private nextId = 1;
  private readonly pending = new Map<Id, { method: MethodName; resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout }>();
  private closed = false;
  private readonly closeListeners: Array<(err?: Error) => void> = [];

  constructor(private readonly stream: Duplex, private readonly opts: PeerOptions = {}) {
    const decoder = new LineDecoder(
      opts.maxMessageBytes ?? MAX_MESSAGE_BYTES,
      (line) => this.onLine(line),
      () => {
        this.sendRaw({ jsonrpc: '2.0', id: null, error: { code: ErrorCodes.TooLarge, message: `message larger than ${opts.maxMessageBytes ?? MAX_MESSAGE_BYTES} bytes` } });
        opts.onProtocolError?.(new RpcFailure(ErrorCodes.TooLarge, 'oversized message'));
      },
    );
    stream.on('data', (c: Buffer | string) => decoder.push(typeof c === 'string' ? Buffer.from(c) : c));
    stream.on('error', (e) => this.shutdown(e));
    stream.on('close', () => this.shutdown());
    stream.on('end', () => this.shutdown());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onClose(fn: (err?: Error) => void): void {
    if (this.closed) fn();
    else this.closeListeners.push(fn);
  }

  /** Calls a method and validates the result against its schema. */
  call<M extends MethodName>(method: M, params: Params<M>, timeoutMs = this.opts.callTimeoutMs ?? 30_000): Promise<Result<M>> {
    if (this.closed) return Promise.reject(new RpcFailure(ErrorCodes.InternalError, 'connection closed'));
    const id = this.nextId++;
    return new Promise<Result<M>>((resolve, reject) => {
      const entry = {
        method,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: timeoutMs > 0 ? setTimeout(() => {
          this.pending.delete(id);
          reject(new RpcFailure(ErrorCodes.InternalError, `${method} timed out after ${timeoutMs} ms`));
        }, timeoutMs) : undefined,
      };
      this.pending.set(id, entry);
      this.sendRaw({ jsonrpc: '2.0', id, method, params: params as Record<string, unknown> });
    });
  }

  notify<N extends NotificationName>(name: N, params: NotificationParams<N>): boolean {
    return this.sendRaw({ jsonrpc: '2.0', method: name, params: params as unknown as Record<string, unknown> });
  }

  close(): void {
    this.stream.end();
    this.shutdown();
  }

  /** Bytes waiting in the stream's write buffer; servers use it to shed slow clients. */
  get queuedBytes(): number {
    return this.stream.writableLength;
  }

  private sendRaw(msg: Envelope): boolean {
    return this.writeLine(JSON.stringify(msg));
  }

  private writeLine(text: string): boolean {
    if (this.closed || this.stream.destroyed) return false;
    const max = this.opts.maxQueuedBytes;
    if (max !== undefined && this.stream.writableLength > max) {
      this.opts.onProtocolError?.(new Error(`peer is not reading: ${this.stream.writableLength} bytes queued`));
      this.stream.destroy();
      return false;
    }
    this.stream.write(text + '\n');
    return true;
  }

  private onLine(line: string): void {
    if (this.closed) return; // the rest of a chunk that arrived with the line that closed us
    const env = parseEnvelope(line);
    if (env instanceof EnvelopeError) {
      this.sendRaw({ jsonrpc: '2.0', id: env.id, error: { code: env.code, message: env.message } });
      this.opts.onProtocolError?.(env);
      return;
    }
    if (env.method !== undefined) {
      if (env.id === undefined || env.id === null) this.onNotificationMsg(env);
      else void this.onRequestMsg(env.id, env.method, env.params ?? {});
      return;
    }
    if (env.id !== undefined && env.id !== null) {
      this.onResponseMsg(env);
      return;
    }
    if (env.error) {
      this.opts.onProtocolError?.(new RpcFailure(env.error.code, `peer reported: ${env.error.message}`));
      return;
    }
    this.sendRaw({ jsonrpc: '2.0', id: null, error: { code: ErrorCodes.InvalidRequest, message: 'message is neither request, notification nor response' } });
  }

  private async onRequestMsg(id: Id, method: string, rawParams: Record<string, unknown>): Promise<void> {
    const reply = (payload: { result: unknown } | { error: { code: number; message: string; data?: unknown } }) =>
      this.sendRaw({ jsonrpc: '2.0', id, ...payload });
    if (!this.opts.onRequest) return void reply({ error: { code: ErrorCodes.MethodNotFound, message: 'this peer serves no methods' } });
    if (!isMethodName(method)) return void reply({ error: { code: ErrorCodes.MethodNotFound, message: `no such method: ${method}` } });
    let params: unknown;
    try {
      params = Methods[method].params.parse(rawParams, 'params');
    } catch (e) {
      return void reply({ error: { code: ErrorCodes.InvalidParams, message: (e as Error).message } });
    }
    try {
      const result = await this.opts.onRequest(method, params, this);
      // The other side refuses a line over the limit and would wait for this id until its timeout: say so now.
      const text = JSON.stringify({ jsonrpc: '2.0', id, result: result === undefined ? null : result });
      const max = this.opts.maxMessageBytes ?? MAX_MESSAGE_BYTES;
      const size = Buffer.byteLength(text);
      if (size > max) {
        reply({ error: { code: ErrorCodes.TooLarge, message: `the answer to ${method} is ${size} bytes, larger than ${max} bytes a message may be; ask for a shorter range or a lower limit` } });
      } else this.writeLine(text);
    } catch (e) {
      if (e instanceof RpcFailure) reply({ error: { code: e.code, message: e.message, ...(e.data ? { data: e.data } : {}) } });
      else if (e instanceof SchemaError) reply({ error: { code: ErrorCodes.InvalidParams, message: e.message } });
      else reply({ error: { code: ErrorCodes.InternalError, message: (e as Error)?.message ?? String(e) } });
    }
  }

  private onNotificationMsg(env: Envelope): void {
    const name = env.method!;
    if (!isNotificationName(name)) {
      this.opts.onProtocolError?.(new RpcFailure(ErrorCodes.MethodNotFound, `unknown notification: ${name}`));
      return;
    }
    try {
      const params = parseTolerant<unknown>(Notifications[name], env.params ?? {}, name);
      this.opts.onNotification?.(name, params as never);
    } catch (e) {
      this.opts.onProtocolError?.(e as Error);
    }
  }

  private onResponseMsg(env: Envelope): void {
    const p = this.pending.get(env.id as Id);
    if (!p) {
      this.opts.onProtocolError?.(new RpcFailure(ErrorCodes.InvalidRequest, `response to unknown id ${String(env.id)}`));
      return;
    }
    this.pending.delete(env.id as Id);
    if (p.timer) clearTimeout(p.timer);
    if (env.error) {
      const data = env.error.data && typeof env.error.data === 'object' ? (env.error.data as Record<string, unknown>) : undefined;
      p.reject(new RpcFailure(env.error.code, env.error.message, data));
      return;
    }
    try {
      p.resolve(parseTolerant<unknown>(Methods[p.method].result, env.result, `${p.method} result`));
    } catch (e) {
      p.reject(e as Error);
    }
  }

  private shutdown(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const [, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new RpcFailure(ErrorCodes.InternalError, `connection closed${err ? `: ${err.message}` : ''}`));
    }
    this.pending.clear();
    for (const fn of this.closeListeners.splice(0)) fn(err);
  }
}

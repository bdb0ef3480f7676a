// A local client of the agent's socket (CLI commands, tests): connects,
// says hello, and turns connection failures into sentences a user can act on.

import { connect } from 'node:net';
import { PROTOCOL_VERSION, type Result } from '../protocol/api';
import { RpcPeer, type NotificationHandler } from '../protocol/peer';

export class AgentUnavailableError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'AgentUnavailableError';
  }
}

export interface AgentConnection {
  peer: RpcPeer;
  hello: Result<'agent.hello'>;
  close(): void;
}

export interface ConnectOptions {
  client?: string;
  timeoutMs?: number;
  onNotification?: NotificationHandler;
}

/** Connects to the agent at `socketPath` and completes agent.hello. */
export async function connectAgent(socketPath: string, opts: ConnectOptions = {}): Promise<AgentConnection> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const socket = await new Promise<ReturnType<typeof connect>>((resolve, reject) => {
    const s = connect(socketPath);
    const t = setTimeout(() => {
      s.destroy();
      reject(new AgentUnavailableError(`no answer from ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      reject(explainConnectError(socketPath, e));
    });
  });
  const peer = new RpcPeer(socket, { callTimeoutMs: timeoutMs, onNotification: opts.onNotification });
  try {
    const hello = await peer.call('agent.hello', { protocolVersion: PROTOCOL_VERSION, client: opts.client ?? 'hefery-agent-cli' });
    return { peer, hello, close: () => peer.close() };
  } catch (e) {
    peer.close();
    throw e;
  }
}

export function explainConnectError(socketPath: string, e: NodeJS.ErrnoException): AgentUnavailableError {
  switch (e.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ENOTDIR':
      return new AgentUnavailableError(`no agent listening at ${socketPath}: is hefery-agent serve running?`, e.code);
    case 'EACCES':
    case 'EPERM':
      return new AgentUnavailableError(`permission denied on ${socketPath}: run as root or as a member of the socket's group (default "hefery")`, e.code);
    default:
      return new AgentUnavailableError(`cannot connect to ${socketPath}: ${e.message}`, e.code);
  }
}

// The contract between the extension's connection layer (extension/src/core,
// extension.ts) and its panels (extension/src/panels, webview/). vscode-free.
//
// The connection layer turns a configured host into an AgentApi once it is
// connected over SSH; panels only ever talk to the agent through this.

import type {
  MethodName, NotificationName, NotificationParams, Params, Result,
} from '../../../host-agent/src/protocol/api';

export interface Disposable {
  dispose(): void;
}

/** A domain on a host, as the tree and the panels name it. */
export interface DomainRef {
  /** Stable id of the configured host (its label in the tree). */
  hostId: string;
  domain: string;
}

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'error';

/** One connected agent, reached through the SSH connection of `hostId`. */
export interface AgentApi {
  readonly hostId: string;
  readonly state: ConnectionState;
  /** A validated request; rejects with a clear Error (RpcFailure for agent errors). */
  call<M extends MethodName>(method: M, params: Params<M>, opts?: { timeoutMs?: number }): Promise<Result<M>>;
  /** Validated notifications of this connection (samples.event, decision.event, train.progress, ...). */
  on<N extends NotificationName>(name: N, handler: (params: NotificationParams<N>) => void): Disposable;
  /** Fires on every change of `state` (a reconnect re-establishes subscriptions itself). */
  onDidChangeState(handler: (state: ConnectionState) => void): Disposable;
}

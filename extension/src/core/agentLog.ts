// "Show Agent Log": the host agent's own log lines, read over the agent's
// socket (agent.log) and appended to one view per host. Each read continues
// where the last one stopped; lines the agent dropped from memory in between,
// or an agent restart (its numbering starts again), are said in the view.
// vscode-free.

import { ErrorCodes, type AgentLogEntry } from '../../../host-agent/src/protocol/api';
import { RpcFailure } from '../../../host-agent/src/protocol/peer';
import { formatLogLine } from '../../../host-agent/src/log';
import type { AgentApi } from './contract';

/** Lines shown on the first read of a host. */
export const FIRST_READ_LINES = 500;

export class AgentLogReader {
  /** The agent's nextSeq after the last read; undefined before the first. */
  private after: number | undefined;

  constructor(private readonly hostId: string) {}

  /** The lines to append since the last read, notes included. */
  async read(api: AgentApi): Promise<string[]> {
    const out: string[] = [];
    let r = await this.call(api, this.after);
    if (this.after !== undefined && r.nextSeq - 1 < this.after) {
      out.push(`--- the agent on ${this.hostId} restarted since the last read; its log since then: ---`);
      this.after = undefined;
      r = await this.call(api, undefined);
    } else if (this.after !== undefined && r.oldestSeq > this.after + 1) {
      out.push(`--- ${r.oldestSeq - this.after - 1} line(s) were dropped from the agent's memory since the last read ---`);
    }
    this.after = r.nextSeq - 1;
    out.push(...r.entries.map((e: AgentLogEntry) => formatLogLine(e)));
    return out;
  }

  private async call(api: AgentApi, after: number | undefined) {
    try {
      return await api.call('agent.log', after === undefined ? { limit: FIRST_READ_LINES } : { after, limit: 2000 });
    } catch (e) {
      if (e instanceof RpcFailure && e.code === ErrorCodes.MethodNotFound) {
        throw new Error(`the agent on ${this.hostId} is older than this extension and cannot send its log; read it on the host (the hefery-agent service's journal)`);
      }
      throw e;
    }
  }
}

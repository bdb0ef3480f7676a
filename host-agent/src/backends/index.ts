// Builds the configured replication backend.

import type { Logger } from '../log';
import type { BackendConfig } from './config';
import { DryRunBackend } from './dry-run';
import { QemuColoBackend } from './qemu-colo';
import type { ReplicationBackend } from './types';
import { XenRemusBackend } from './xen-remus';

export { parseBackendConfig, type BackendConfig } from './config';
export type { ApplyResult, BackendCapabilities, BackendFault, ReplicationBackend } from './types';

export async function createBackend(cfg: BackendConfig, log: Logger): Promise<ReplicationBackend> {
  switch (cfg.type) {
    case 'dry-run':
      return new DryRunBackend();
    case 'qemu-colo':
      return QemuColoBackend.open(cfg, log);
    case 'xen-remus':
      return new XenRemusBackend(cfg, log);
  }
}

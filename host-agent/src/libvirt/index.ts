export * from './types';
export { LibvirtStatsSource, type LibvirtStatsSourceOptions, type StatsMode } from './stats-source';
export { LibvirtQemuMonitor } from './qemu-monitor';
export { toRawStats, domainStateFromCode } from './raw-stats';
export { toDomainEvent } from './events';
export { loadAddon, isLibvirtError, type NativeConnection, type NativeStatsRecord, type NativeEvent, type LibvirtError } from './native';

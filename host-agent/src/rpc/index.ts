export { AgentServer, type AgentServerOptions, type DomainEventName } from './server';
export type { AgentInfo, DomainDirectory, HistoryStore, ProtectionService, TrainingService, TrainListener } from './services';
export { connectAgent, explainConnectError, AgentUnavailableError, type AgentConnection, type ConnectOptions } from './client';
export { lookupGroup, prepareSocketPath, isListening, SocketPathError } from './socket';

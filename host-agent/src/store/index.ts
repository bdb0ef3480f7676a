export { Store, StoreError, type StoreOptions, type RetentionOptions, type SampleRow, type Incident, type StoredEvent, type StoredModel, type PruneResult } from './store';
export { SCHEMA_VERSION } from './schema';

export { RateConverter, type RateConverterOptions, type Converted } from './rate-converter';
export { DomainRates, type DomainSample, type RatesBatch } from './domain-rates';
export { Sampler, type SamplerOptions, type SamplerFailure } from './sampler';

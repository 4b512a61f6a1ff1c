// OutlierDetectionConfig: the options of an OutlierDetector, named as in
// Istio's DestinationRule `trafficPolicy.outlierDetection` (durations in ms,
// as the YAML loader parses them), plus the Envoy success-rate and
// failure-percentage fields Istio does not expose. Checked once here into a
// complete, frozen set of numbers the detector reads on every report.
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';

export type { OutlierDetectionConfig } from '../config/model';
import type { OutlierDetectionConfig } from '../config/model';

export type ResolvedOutlierDetection = { readonly [K in keyof OutlierDetectionConfig]-?: Exclude<OutlierDetectionConfig[K], undefined> };

const MAX_EJECTION_TIME_MS = 300_000;

/** Fills defaults and checks ranges; throws MeshError CONFIG naming the field to fix. */
export function resolveOutlierDetection(config: OutlierDetectionConfig = {}): ResolvedOutlierDetection {
  const c = config;
  const baseEjectionTime = duration(c.baseEjectionTime, 'baseEjectionTime', 30_000);
  const maxEjectionTime = duration(c.maxEjectionTime, 'maxEjectionTime', Math.max(MAX_EJECTION_TIME_MS, baseEjectionTime));
  if (maxEjectionTime < baseEjectionTime) {
    throw configError('maxEjectionTime', `is ${maxEjectionTime} ms, below baseEjectionTime (${baseEjectionTime} ms); raise maxEjectionTime or lower baseEjectionTime`);
  }
  const maxEjectionPercent = count(c.maxEjectionPercent, 'maxEjectionPercent', 10, 100);
  return Object.freeze({
    consecutive5xxErrors: count(c.consecutive5xxErrors, 'consecutive5xxErrors', 5),
    consecutiveGatewayErrors: count(c.consecutiveGatewayErrors ?? c.consecutiveErrors, 'consecutiveGatewayErrors', 0),
    consecutiveErrors: count(c.consecutiveErrors, 'consecutiveErrors', 0),
    splitExternalLocalOriginErrors: c.splitExternalLocalOriginErrors === true,
    consecutiveLocalOriginFailures: count(c.consecutiveLocalOriginFailures, 'consecutiveLocalOriginFailures', 5),
    interval: duration(c.interval, 'interval', 10_000),
    baseEjectionTime,
    maxEjectionTime,
    maxEjectionPercent: maxEjectionPercent === 0 ? 10 : maxEjectionPercent,
    minHealthPercent: count(c.minHealthPercent, 'minHealthPercent', 0, 100),
    alwaysEjectOneHost: c.alwaysEjectOneHost === true,
    enforcingSuccessRate: count(c.enforcingSuccessRate, 'enforcingSuccessRate', 0, 100),
    successRateMinimumHosts: count(c.successRateMinimumHosts, 'successRateMinimumHosts', 5),
    successRateRequestVolume: count(c.successRateRequestVolume, 'successRateRequestVolume', 100),
    successRateStdevFactor: count(c.successRateStdevFactor, 'successRateStdevFactor', 1900),
    enforcingFailurePercentage: count(c.enforcingFailurePercentage, 'enforcingFailurePercentage', 0, 100),
    failurePercentageThreshold: count(c.failurePercentageThreshold, 'failurePercentageThreshold', 85, 100),
    failurePercentageMinimumHosts: count(c.failurePercentageMinimumHosts, 'failurePercentageMinimumHosts', 5),
    failurePercentageRequestVolume: count(c.failurePercentageRequestVolume, 'failurePercentageRequestVolume', 50),
  });
}

function count(v: unknown, field: string, fallback: number, max = 0xffffffff): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw configError(field, `is ${String(v)}; set a whole number from 0 to ${max}`);
  }
  return v;
}

function duration(v: unknown, field: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw configError(field, `is ${String(v)} ms; set a positive duration such as 10s`);
  }
  return v;
}

function configError(field: string, problem: string): MeshError {
  return new MeshError(MeshErrorCode.CONFIG, `DestinationRule trafficPolicy.outlierDetection.${field} ${problem}`, { details: { field } });
}

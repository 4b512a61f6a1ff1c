// One xDS resource type, as grpc-js-xds's XdsResourceType: how a resource of
// the type is decoded, named, validated and translated. Everything a type
// needs lives in its handler (rds-resource-type.ts, cds-resource-type.ts,
// eds-resource-type.ts); the state-of-the-world rules that are the same for
// every type (apply-response.ts) and the client (xds-config-source.ts) read
// only this contract, so a new type is one more handler and one registration.
import type { Steps } from '../config/sliced-work';
import type { XdsTypeUrl } from './type-urls';

/** A resource decoded far enough to know its name. */
export interface DecodedResource<Raw> {
  readonly name: string;
  /** The decoded resource, when decoding the name decoded it whole. */
  readonly raw?: Raw;
}

/** What a valid resource becomes in the client's state. */
export interface ValidResource<Raw, Value> {
  /** The decoded resource to keep, or undefined to keep only the bytes (decodeRaw reads them again when needed). */
  readonly raw: Raw | undefined;
  readonly value: Value;
}

export interface XdsResourceType<Raw, Value> {
  readonly typeUrl: XdsTypeUrl;
  /** Short name for messages: RDS, CDS, EDS, LDS. */
  readonly short: string;
  /** State of the world: a response lists every resource of the type the client has, so one left out was deleted (CDS, LDS). */
  readonly allResourcesRequiredInSotW: boolean;
  /** Decodes enough to name the resource; throws when the bytes are not a resource of this type. */
  decode(bytes: Buffer): DecodedResource<Raw>;
  /** Checks and translates a decoded resource; throws MeshError CONFIG naming the field at fault and what to change. */
  validate(decoded: DecodedResource<Raw>, bytes: Buffer): ValidResource<Raw, Value>;
  /** validate() in steps, for a type whose one resource can be big (a 10,000-route RouteConfiguration). */
  validateSteps?(decoded: DecodedResource<Raw>, bytes: Buffer): Steps<ValidResource<Raw, Value>>;
  /** The whole decoded resource, for dumps and the last-good cache. */
  decodeRaw(bytes: Buffer): Raw;
  /** The name of a resource already decoded (a cached one), or undefined when it has none. */
  nameOfRaw(raw: Raw): string | undefined;
  /** validate() for a resource already decoded (a cached one). */
  fromRaw(raw: Raw): Value;
}

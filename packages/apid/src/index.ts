export { APID_PORT, ApidCertFiles, ApidDefaults, createApid, proxiedMethods } from './apid.ts';
export type { Apid, ApidOptions } from './apid.ts';
export { MAX_FAN_OUT, MetadataKeys, authenticate, callerOf, certificateRoles, checkTarget, defaultNodeAddress, forwardMetadata, metadataList, routeOf } from './route.ts';
export type { Caller, Route } from './route.ts';
export { decodeVarint, encodeLenField, encodeMetadata, encodeTag, encodeVarint, errorMessage, joinRepeated, readFields, repeatedMessages, withHostname } from './wire.ts';
export type { WireField } from './wire.ts';

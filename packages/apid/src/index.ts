export { APID_PORT, ApidCertFiles, createApid, proxiedMethods } from './apid.ts';
export type { Apid, ApidOptions } from './apid.ts';
export { MetadataKeys, authenticate, callerOf, certificateRoles, defaultNodeAddress, forwardMetadata, metadataList, routeOf } from './route.ts';
export type { Caller, Route } from './route.ts';
export { decodeVarint, encodeLenField, encodeMetadata, encodeTag, encodeVarint, errorMessage, joinRepeated, readFields, repeatedMessages, withHostname } from './wire.ts';
export type { WireField } from './wire.ts';
